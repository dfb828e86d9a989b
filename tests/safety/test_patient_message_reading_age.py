"""The message a person in distress reads is plain: a reading age of 9 or under (Flesch-Kincaid grade 4 or under)."""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from smart_app.safety.notice import notice
from smart_app.safety.settings import DEFAULT_CONTACTS, SafetySettings
from smart_app.safety import shipped_rules

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
MAX_GRADE = 4.0  # US grade 4 = reading age 9 to 10


def syllables(word: str) -> int:
    """A standard vowel-group estimate of a word's syllables (silent final e dropped)."""
    word = word.lower()
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(count, 1)


def grade(text: str) -> float:
    """Flesch-Kincaid grade level of plain text."""
    sentences = [s for s in re.split(r"[.!?]+", text) if s.strip()]
    words = re.findall(r"[A-Za-z']+", text)
    return 0.39 * len(words) / len(sentences) + 11.8 * sum(map(syllables, words)) / len(words) - 15.59


def rendered(kind: str, topic: str, after_send: bool) -> str:
    """The partial's words (contacts and the configure-me note left out: those are the deployment's)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]  # English, as Flask-Babel installs it
    settings = SafetySettings(shipped_rules(), (), contacts_configured=True)
    html = env.get_template("_partials/safety_message.html").render(
        notice=notice([{"rule": "r", "message": topic}], settings), after_send=after_send,
        whose={"kind": kind, "patient_name": "Sam"})
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.mark.parametrize("kind", ["patient", "caregiver"])
@pytest.mark.parametrize("topic", ["mental-health", "physical-urgent"])
@pytest.mark.parametrize("after_send", [False, True])
def test_the_message_reads_at_age_nine_or_under(kind, topic, after_send):
    text = rendered(kind, topic, after_send)
    assert "No one reads these answers right away." in text
    assert grade(text) <= MAX_GRADE, (grade(text), text)


def test_the_default_contacts_read_plainly_too():
    text = ". ".join(c.label for c in DEFAULT_CONTACTS) + "."
    assert grade(text) <= MAX_GRADE + 2  # names of services ("Lifeline") are proper nouns; kept short


def test_the_grade_formula_tells_hard_text_from_easy_text():
    assert grade("The cat sat on the mat. It was a sunny day.") < 2
    assert grade("Hypertensive emergencies necessitate immediate pharmacological intervention.") > 12
