"""Not taking it for "Other reason": the patient's own words reach the record and the clinician, in the real sandbox."""
from __future__ import annotations

import html
import re

from smart_app.medications import load_questionnaire
from tests.fixtures.e2e import E2E, PATIENT
from tests.medication_flow.helpers import (
    QUESTIONNAIRE_URL,
    Reviewer,
    children,
    key_for,
    path_of,
    stored_adherence,
    stored_reviews,
)

# Markup in the words must come back as text everywhere: form, check page, record, clinician view.
WORDS = 'Ran out & the pharmacy was closed <script>alert("x")</script>'
OTHER = {"status": "not-taking", "why": "other", "why_other": f"  {WORDS}  "}


def _box_value(body: str, rows: dict[str, str], fragment: str) -> str:
    """The unescaped value of the "other reason" box of one medicine on the review page."""
    name = f"med.{key_for(rows, fragment)}.why_other"
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', body)
    assert match, f"no {name} box on the page"
    return html.unescape(match.group(1))


def test_the_sandbox_serves_the_bundled_version_with_the_other_reason_item(e2e: E2E) -> None:
    """The EHR holds the same Questionnaire version the app writes its answers against."""
    (served,) = [q for q in e2e.sandbox.resources("Questionnaire") if q.get("url") == QUESTIONNAIRE_URL]
    assert served["version"] == load_questionnaire()["version"]
    group = next(item for item in served["item"] if item["linkId"] == "medication")
    assert "medication.why-other" in [item["linkId"] for item in group["item"]]


def test_other_reason_words_are_kept_checked_sent_and_shown_to_the_clinician(e2e: E2E) -> None:
    """Too long is refused at the field with the words kept; a relaunch restores them; sending writes them
    in lisinopril's own group and Observation note; the clinician sees them beside the reason."""
    reviewer = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    body, rows = reviewer.open()
    assert 'data-applies-to-reason="other"' in body and "If another reason: what is it? (optional)" in body

    too_long = reviewer.post(reviewer.answers(rows, {"lisinopril": {**OTHER, "why_other": "o" * 501}}))
    assert too_long.status_code == 422
    page = too_long.get_data(as_text=True)
    assert "Keep your other reason to 500 characters or fewer." in page
    assert _box_value(page, rows, "lisinopril") == "o" * 501

    # "Add a medicine" keeps a draft without checking it; a new launch of the same person restores the words.
    saved = reviewer.post(reviewer.answers(rows, {"lisinopril": OTHER}), action="add-medicine")
    assert saved.status_code == 200
    again = Reviewer(e2e, e2e.launcher.standalone(login=f"Patient/{PATIENT}"), e2e.client)
    body, rows = again.open()
    assert _box_value(body, rows, "lisinopril") == f"  {WORDS}  "
    assert 'value="other" checked' in body

    assert again.post(again.answers(rows, {"lisinopril": OTHER})).status_code == 303
    check, submission_id = again.check()
    (why,) = re.findall(r'<span class="summary-detail">(Why: Other reason [^<]*)</span>', check)
    assert html.unescape(why) == f"Why: Other reason ({WORDS})"
    assert "<script>alert" not in check
    sent = again.send(submission_id)
    assert sent.status_code == 303
    assert "Sent to your care team" in e2e.client.get(path_of(sent)).get_data(as_text=True)

    (qr,) = stored_reviews(e2e, PATIENT)
    assert qr["questionnaire"] == f"{QUESTIONNAIRE_URL}|{load_questionnaire()['version']}"
    groups = [children(g) for g in qr["item"] if g["linkId"] == "medication"]
    with_words = [g for g in groups if "medication.why-other" in g]
    assert len(with_words) == 1
    (lisinopril,) = with_words
    assert lisinopril["medication.source"][0]["valueReference"]["reference"] == "MedicationRequest/mr-ana-1"
    assert lisinopril["medication.why-not"][0]["valueCoding"]["code"] == "other"
    assert lisinopril["medication.why-other"] == [{"valueString": WORDS}]

    notes = {focus["reference"]: [n["text"] for n in obs.get("note", [])]
             for obs in stored_adherence(e2e, PATIENT) for focus in obs["focus"]}
    assert notes["MedicationRequest/mr-ana-1"] == [f"Why not: Other reason ({WORDS})"]
    assert sum(1 for texts in notes.values() if any("Other reason" in t for t in texts)) == 1

    clinician = e2e.new_browser()
    handle = e2e.launcher.ehr(patient=PATIENT, client=clinician)
    view = clinician.get(f"/l/{handle}/medications/clinician").get_data(as_text=True)
    details = re.findall(r'<strong class="med-name">([^<]+)</strong>\s*<span class="diff-detail">([^<]+)</span>', view)
    assert [(name, html.unescape(detail)) for name, detail in details] == [
        ("lisinopril 10 MG Oral Tablet", f"Reported not taking it (other reason: {WORDS})"),
    ]
    assert "<script>alert" not in view
