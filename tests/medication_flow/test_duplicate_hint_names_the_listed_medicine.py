"""The duplicate hint, through the app against the sandbox: after a post (no JavaScript) and from the
hints endpoint the page's script calls while a name is typed; brand names, both languages, never a block."""
from __future__ import annotations

import html
import re

from tests.fixtures.e2e import E2E, PATIENT
from tests.medication_flow.helpers import Reviewer, csrf_of

_HINTS = re.compile(r'<div class="med-duplicate" id="add-(\d+)-duplicate" aria-live="polite">(.*?)</div>', re.S)
_HINT = re.compile(r'<p class="med-duplicate-hint">([^<]*)</p>')


def _hints_on(page: str) -> dict[int, list[str]]:
    """Each add block's hint sentences as the page shows them (every block has its live region)."""
    return {int(i): [html.unescape(h) for h in _HINT.findall(body)] for i, body in _HINTS.findall(page)}


def _ask(reviewer: Reviewer, names: list[str]) -> dict[str, list[str]]:
    """What medications.js does while typing: POST the added names, read the JSON hints."""
    token = csrf_of(reviewer.client.get(reviewer.base).get_data(as_text=True))
    fields = {f"add.{i}.name": name for i, name in enumerate(names)}
    response = reviewer.client.post(reviewer.base + "hints", data={**fields, "add.count": str(len(names))},
                                    headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["hints"]


def test_a_brand_added_after_posting_gets_a_hint_naming_the_listed_generic(e2e: E2E) -> None:
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    page, _ = reviewer.open()
    assert _hints_on(page) == {0: []}  # the live region is there, empty, before anything is typed
    after = reviewer.post({"add.0.name": "Advil", "add.0.dose": "200 mg"}, action="add-medicine").get_data(as_text=True)
    hints = _hints_on(after)
    assert hints[0] == ["You already have Ibuprofen 200 mg tablet on your list. Is this the same medicine?"]
    assert hints[1] == []  # the new empty block has no hint
    assert re.search(r'id="add-0-name"[^>]*value="Advil"[^>]*aria-describedby="add-0-duplicate"', after)


def test_the_hint_never_stops_the_medicine_being_added(e2e: E2E) -> None:
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    _, rows = reviewer.open()
    response = reviewer.post(reviewer.answers(rows, added=[{"name": "Tylenol", "dose": "500 mg"}]))
    assert response.status_code == 303  # on to the check page, hint or not
    check, _ = reviewer.check()
    assert "Tylenol" in check


def test_while_typing_the_endpoint_reads_each_added_name_against_the_list(e2e: E2E) -> None:
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    responses_before = len(e2e.sandbox.resources("QuestionnaireResponse"))
    hints = _ask(reviewer, ["Tylenol", "Glucophage XR", "Vitamin D3", "", "paracetamol"])
    assert hints == {
        "0": ["You already have Acetaminophen 500 mg tablet on your list. Is this the same medicine?"],
        "1": ["You already have Metformin 500 mg tablet on your list. Is this the same medicine?"],
        "2": [], "3": [],
        "4": ["You already have Acetaminophen 500 mg tablet on your list. Is this the same medicine?"],
    }
    assert len(e2e.sandbox.resources("QuestionnaireResponse")) == responses_before  # a hint saves nothing


def test_the_hints_endpoint_needs_the_csrf_token(e2e: E2E) -> None:
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    reviewer.open()
    response = reviewer.client.post(reviewer.base + "hints", data={"add.0.name": "Advil"})
    assert response.status_code in (400, 403)


def test_an_inhaler_brand_matches_the_listed_inhaler_for_another_patient(e2e: E2E) -> None:
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login="Patient/pat-chloe"), e2e.client)
    hints = _ask(reviewer, ["Flovent", "Ventolin"])
    assert hints["0"] == ["You already have Fluticasone inhaler (44 micrograms per puff) on your list. "
                          "Is this the same medicine?"]
    assert len(hints["1"]) == 1 and "Albuterol" in hints["1"][0]


def test_the_hint_is_said_in_spanish_on_a_spanish_page(e2e: E2E) -> None:
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    e2e.client.set_cookie("previsit_lang", "es")
    (hint,) = _ask(reviewer, ["Advil"])["0"]
    assert hint.startswith("Ya tiene ") and "¿Es el mismo medicamento?" in hint
    after = reviewer.post({"add.0.name": "Advil"}, action="add-medicine").get_data(as_text=True)
    assert _hints_on(after)[0] == [hint]
