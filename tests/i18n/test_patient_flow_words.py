"""The whole patient flow, in English and in Spanish, speaks the person's language and never shows
record internals: no resource names, ids, MRNs, ISO or UTC timestamps outside the closed
"details" disclosure (issue 14's acceptance, walked against the real sandbox)."""
from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.fixtures.e2e import E2E
from tests.medication_flow.helpers import Reviewer
from tests.questionnaire_flow.flow import Browser, intake_answers, phq9_answers, stored

CATALOG = Path(__file__).resolve().parents[2] / "smart_app" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
ENGLISH_PATIENT, SPANISH_PATIENT = "pat-ana", "pat-dev"  # pat-dev prefers es-US (sandbox/seed.py)

# What a patient must never read on a page (the details disclosure excepted).
FORBIDDEN = {
    "a FHIR resource name": re.compile(r"\b(QuestionnaireResponse|Observation|Provenance|MedicationRequest|"
                                       r"MedicationStatement|Encounter|Practitioner)\b|\bPatient/"),
    "an internal id": re.compile(r"\bpat-[a-z]+\b|\b[0-9a-f]{32}\b"),
    "an MRN": re.compile(r"\bMRN\b|MRN-\d+"),
    "an ISO date or timestamp": re.compile(r"\b\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2})?"),
    "UTC": re.compile(r"\bUTC\b"),
}


def visible_text(page: str) -> str:
    """What a person reads: the title and the body's text, without scripts, styles or the closed details."""
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    body = page[page.find("<body"):]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<details\b(?![^>]*\bopen\b).*?</details>", " ", body, flags=re.S)
    body = re.sub(r"<!--.*?-->", " ", body, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", (title.group(1) if title else "") + " " + body)
    return re.sub(r"\s+", " ", htmllib.unescape(text)).strip()


def english_sentences() -> list[str]:
    """Our own English sentences (the catalog's msgids long enough to be unmistakable), to catch leftovers."""
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh)
    found = []
    for message in catalog:
        text = message.id if isinstance(message.id, str) else ""
        if len(text) >= 18 and " " in text and "%(" not in text and "<" not in text:
            found.append(text)
    return found


@dataclass
class Walk:
    """The pages of one person's flow, by name, and what they sent."""

    pages: dict[str, str] = field(default_factory=dict)
    submissions: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, response) -> str:
        """Keep a page (it must have rendered)."""
        assert response.status_code == 200, (name, response.status_code, response.get_data(as_text=True)[:500])
        self.pages[name] = response.get_data(as_text=True)
        return self.pages[name]


def receipt_id(response) -> str:
    """The submission id a send redirected to."""
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def walk_the_flow(e2e: E2E, patient: str) -> Walk:
    """home -> intake -> PHQ-9 -> medication review -> receipts, as the patient, with an English browser."""
    e2e.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    handle = e2e.launcher.standalone(login=f"Patient/{patient}")
    browser, walk = Browser(e2e.client, handle), Walk()
    walk.add("home", e2e.page(handle))
    walk.add("questionnaires", browser.get("questionnaires/"))

    walk.add("intake form", browser.get("questionnaires/previsit-intake"))
    assert browser.post_form("previsit-intake", intake_answers(weight="72", systolic="128", diastolic="82")).status_code == 303
    walk.add("intake review", browser.get("questionnaires/previsit-intake/review"))
    walk.submissions["intake"] = receipt_id(browser.send("previsit-intake"))
    walk.add("intake receipt", browser.get(f"submissions/{walk.submissions['intake']}"))

    walk.add("PHQ-9 form", browser.get("questionnaires/phq-9"))
    assert browser.post_form("phq-9", phq9_answers([1, 0, 1, 0, 0, 0, 0, 0, 0])).status_code == 303
    walk.add("PHQ-9 review", browser.get("questionnaires/phq-9/review"))
    walk.submissions["phq-9"] = receipt_id(browser.send("phq-9"))
    walk.add("PHQ-9 receipt", browser.get(f"submissions/{walk.submissions['phq-9']}"))

    reviewer = Reviewer(e2e, handle, e2e.client)
    body, rows = reviewer.open()
    walk.pages["medication review"] = body
    assert reviewer.post(reviewer.answers(rows)).status_code == 303
    check, submission_id = reviewer.check()
    walk.pages["medication check"] = check
    walk.submissions["medications"] = receipt_id(reviewer.send(submission_id))
    walk.add("medication receipt", browser.get(f"submissions/{walk.submissions['medications']}"))
    return walk


def assert_nothing_internal(walk: Walk) -> None:
    """No page shows a resource name, an id, an MRN, an ISO date or UTC outside the details disclosure."""
    problems = []
    for name, page in walk.pages.items():
        text = visible_text(page)
        for what, pattern in FORBIDDEN.items():
            for match in pattern.finditer(text):
                problems.append(f"{name}: {what}: …{text[max(0, match.start() - 40):match.end() + 40]}…")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("patient", [ENGLISH_PATIENT], ids=["en"])
def test_the_english_flow_shows_no_record_internals(e2e: E2E, patient: str) -> None:
    walk = walk_the_flow(e2e, patient)
    assert all('<html lang="en">' in page for page in walk.pages.values())
    assert_nothing_internal(walk)
    receipt = visible_text(walk.pages["intake receipt"])
    assert re.search(r"Sent to your care team on \w+day \d{1,2} \w+ at \d{2}:\d{2}\. They will see it before your visit\.", receipt)
    assert "Your weight (72 kg)" in receipt and "Your blood pressure (128/82)" in receipt
    assert "not saved twice" not in receipt  # a first send found nothing already there
    assert [stored(e2e.sandbox, sid)["QuestionnaireResponse"][0]["language"]
            for sid in (walk.submissions["intake"], walk.submissions["phq-9"])] == ["en", "en"]


def test_a_spanish_speaking_patient_gets_every_page_and_the_bundled_forms_in_spanish(e2e: E2E) -> None:
    walk = walk_the_flow(e2e, SPANISH_PATIENT)  # the browser asks for English: Patient.communication wins
    assert all('<html lang="es">' in page for page in walk.pages.values()), [n for n, p in walk.pages.items() if 'lang="es"' not in p]
    assert_nothing_internal(walk)
    leftovers = [f"{name}: {sentence!r}" for name, page in walk.pages.items() for sentence in english_sentences()
                 if sentence in visible_text(page)]
    assert not leftovers, "English left on Spanish pages:\n" + "\n".join(leftovers)
    assert "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera" in visible_text(walk.pages["PHQ-9 form"])
    assert "¿Cuál es el motivo principal de su consulta?" in visible_text(walk.pages["intake form"])
    receipt = visible_text(walk.pages["intake receipt"])
    assert re.search(r"Enviado a su equipo de atención el \w+ \d{1,2} de \w+ a las \d{1,2}:\d{2}\. Lo verán antes de su consulta\.",
                     receipt), receipt
    assert "Su peso (72 kg)" in receipt and "Su presión arterial (128/82)" in receipt
    for key in ("intake", "phq-9", "medications"):
        [qr] = stored(e2e.sandbox, walk.submissions[key])["QuestionnaireResponse"] if key != "medications" else [
            r for r in e2e.sandbox.resources("QuestionnaireResponse")
            if any(i.get("value") == walk.submissions[key] for i in ([r.get("identifier")] if isinstance(r.get("identifier"), dict) else r.get("identifier") or []))]
        assert qr["language"] == "es", key


def test_the_switch_turns_the_same_launch_into_english_and_back(e2e: E2E) -> None:
    e2e.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    handle = e2e.launcher.standalone(login=f"Patient/{SPANISH_PATIENT}")
    page = e2e.page(handle, "questionnaires/phq-9").get_data(as_text=True)
    assert '<html lang="es">' in page and "Poco interés o placer en hacer cosas" in page
    switch = re.search(r'href="(/language/en\?next=[^"]+)"', page)
    assert switch, "the page offers English"
    back = e2e.client.get(htmllib.unescape(switch.group(1)))
    assert back.status_code == 303 and back.headers["Location"].endswith("/questionnaires/phq-9")
    page = e2e.client.get(back.headers["Location"]).get_data(as_text=True)
    assert '<html lang="en">' in page and "Little interest or pleasure in doing things" in page
    home = e2e.page(handle).get_data(as_text=True)
    assert '<html lang="en">' in home, "the choice is remembered for the next page"
    e2e.client.get("/language/es", query_string={"next": "/"})
    assert '<html lang="es">' in e2e.page(handle).get_data(as_text=True)
