"""A patient page rendered in Spanish keeps none of the sentences its English render shows: every
text node of the English page (our words, not the record's) must be gone from the Spanish one.
Pages: home, the PHQ-9, the medication review and a receipt, for the same patient and the same
record, read once in each language (the switch), against the real sandbox."""
from __future__ import annotations

import html as htmllib
import re

import pytest

from tests.fixtures.e2e import E2E
from tests.medication_flow.helpers import Reviewer
from tests.questionnaire_flow.flow import Browser, phq9_answers

PATIENT = "pat-dev"
# Text that is the same in both languages because it is not ours to translate: the app's name, the
# language switch's own names, and what the record says (names, medicines as written, prescribers' text).
NOT_OURS = re.compile(r"^(SMART Pre-Visit|English|Español)$")
ID = re.compile(r"[0-9a-f]{32}|[A-Za-z0-9-]+/[A-Za-z0-9.-]+")  # ids and references (in the closed details)


def text_nodes(page: str) -> list[str]:
    """The text a person reads, node by node (title, body text, aria-label, title and alt attributes),
    without scripts and styles; whitespace collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    body = re.sub(r"<!--.*?-->", " ", body, flags=re.S)
    attributes = re.findall(r'\s(?:aria-label|title|alt|placeholder|data-announce|data-failed)="([^"]*)"', body)
    nodes = [re.sub(r"\s+", " ", htmllib.unescape(t)).strip() for t in re.split(r"<[^>]+>", body) + attributes]
    return [n for n in nodes if n]


def sentences(page: str) -> set[str]:
    """The page's own sentences: text nodes of three words or more that carry words, not data."""
    found = set()
    for node in text_nodes(page):
        words = re.findall(r"[A-Za-z]{2,}", node)
        if len(words) >= 3 and not NOT_OURS.match(node) and not ID.fullmatch(node):
            found.add(node)
    return found


def read_in(e2e: E2E, language: str, urls: dict[str, str]) -> dict[str, str]:
    """Every page, read with the switch set to `language`."""
    e2e.client.get(f"/language/{language}", query_string={"next": "/"})
    pages = {}
    for name, url in urls.items():
        response = e2e.client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        pages[name] = response.get_data(as_text=True)
        assert f'<html lang="{language}">' in pages[name], name
    return pages


def record_words(e2e: E2E, browser: Browser) -> set[str]:
    """What the record itself says on these pages (the same in any language): the patient's and
    clinicians' names and the medicines' record names and prescribers' instructions."""
    words = set()
    for resource_type in ("Patient", "Practitioner", "MedicationRequest", "MedicationStatement", "Medication"):
        stored = e2e.sandbox.resources(resource_type)
        for resource in stored + [c for r in stored for c in r.get("contained") or []]:
            for name in resource.get("name") or []:
                if isinstance(name, dict):
                    words.add(" ".join(name.get("given", []) + [name.get("family", "")]).strip())
                    words.add(" ".join(name.get("prefix", []) + name.get("given", []) + [name.get("family", "")]).strip())
                    words.add(name.get("text", ""))
            for key in ("medicationCodeableConcept", "code"):
                concept = resource.get(key) or {}
                words.update(c.get("display", "") for c in concept.get("coding", []))
                words.add(concept.get("text", ""))
            for dosage in resource.get("dosageInstruction", []) + resource.get("dosage", []):
                words.add(dosage.get("text", ""))
    return {w for w in words if w}


@pytest.fixture
def walked(e2e: E2E) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """(English pages, Spanish pages, the record's own words) for one patient's home, PHQ-9,
    medication review and a PHQ-9 receipt."""
    handle = e2e.launcher.standalone(login=f"Patient/{PATIENT}")
    browser = Browser(e2e.client, handle)
    sid = browser.fill_and_send("phq-9", phq9_answers([1, 0, 1, 0, 0, 0, 0, 0, 0]))
    Reviewer(e2e, handle, e2e.client).open()
    urls = {"home": f"/l/{handle}/", "PHQ-9": browser.url("questionnaires/phq-9"),
            "medication review": browser.url("medications/"), "receipt": browser.url(f"submissions/{sid}")}
    english, spanish = read_in(e2e, "en", urls), read_in(e2e, "es", urls)
    return english, spanish, record_words(e2e, browser)


def test_no_english_sentence_survives_on_a_spanish_page(walked) -> None:
    english, spanish, record = walked
    left = []
    for name, page in english.items():
        ours = {s for s in sentences(page) if not any(s == r or s in r for r in record)}
        assert len(ours) >= 5, f"{name}: too few English sentences to compare ({ours})"
        still = ours & set(text_nodes(spanish[name]))
        left += [f"{name}: {s!r}" for s in sorted(still)]
    assert not left, "English left on Spanish pages:\n" + "\n".join(left)


def test_the_check_catches_an_english_sentence_left_on_a_spanish_page(walked) -> None:
    english, spanish, _ = walked
    [sentence, *_] = sorted(sentences(english["home"]))
    planted = spanish["home"].replace("</main>", f"<p>{htmllib.escape(sentence)}</p></main>")
    assert sentence in set(text_nodes(planted)) & sentences(english["home"])

