"""Helpers for the assigned-forms flow: read the seeded Tasks and Appointments straight from the sandbox."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

SAM = "pat-sam"
CLINIC_FORM = "q-sore-throat"
CLINIC_URL = "http://riverside.example.org/fhir/Questionnaire/sore-throat-follow-up"
SORE_THROAT_ANSWERS = {"q.better.r": "|better", "q.doses-missed.r": "1", "q.notes.r": "Thanks"}


def long_day(day: date) -> str:
    """'Monday 7 December' written independently of the app's wording module."""
    return day.strftime("%A ") + str(day.day) + day.strftime(" %B")


def instant(text: str) -> datetime:
    """A FHIR instant as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def task(sandbox: Any, task_id: str) -> dict:
    """The Task as the sandbox holds it now."""
    return sandbox.store.read("Task", task_id)


def panel(html: str) -> str:
    """The visit panel of a home page, whitespace folded ('' when there is none)."""
    match = re.search(r'<section class="visit-panel".*?</section>', html, re.S)
    return re.sub(r"\s+", " ", match.group(0)) if match else ""


def responses_to(sandbox: Any, url: str, patient: str) -> list[dict]:
    """The sandbox's completed QuestionnaireResponses to a form (by canonical url) for one patient
    (an in-progress one is the draft the app mirrors to the record)."""
    return [r for r in sandbox.resources("QuestionnaireResponse")
            if str(r.get("questionnaire", "")).split("|")[0] == url and r["subject"]["reference"] == f"Patient/{patient}"
            and r["status"] == "completed"]
