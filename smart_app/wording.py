"""Words by reader: the patient, a caregiver answering for them (proxy), or a clinician entering for them.

Provenance already records who answered (author) and for whom (subject/source); these words
say the same thing on the page. Patients see plain form titles; clinicians see instrument names,
and bands are shown to patients only when the deployment turns them on (docs/safety.md).
Pure: templates call `words(whose)` and `form_title(entry, kind)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

# Plain titles for patients and caregivers, by the form's code (so EHR copies get them too).
PLAIN_TITLES = {
    "44249-1": "How your mood has been",
    "69737-5": "How anxious you have felt",
}
# What a saved record is, in a patient's words (a patient never sees a resource type or an id).
PLAIN_RECORDS = {
    "QuestionnaireResponse": "Your answers",
    "Observation": "A result worked out from your answers",
    "Flag": "A note asking your care team to look at these answers first",
    "Provenance": "A note of who sent these, and when",
}


@dataclass(frozen=True)
class Words:
    """The phrases that change with the reader."""

    kind: str  # patient | caregiver | clinician
    check_heading: str
    send_button: str
    resend_button: str
    sent_status: str
    saved_to: str
    answers_line: str
    result_line: str
    provenance_line: str
    who_sees_others: str
    change_answers: str

    @property
    def clinician(self) -> bool:
        """True for a clinician (clinical labels, resource ids)."""
        return self.kind == "clinician"


def words(whose: Mapping[str, Any] | None) -> Words:
    """The words for this reader; `whose` is {"kind", "patient_name"} as the views build it."""
    whose = whose or {}
    kind = whose.get("kind")
    name = whose.get("patient_name")
    if kind == "clinician":
        patient = name or "the patient"
        return Words("clinician", "Check the answers", "Save to the chart", "Try saving to the chart again now",
                     "Saved to the chart", "What will be saved to the chart", "The answers to",
                     "A result for the chart:", f"A note saying you entered these for {patient}, through this app, and when.",
                     "others in the care team who can see the chart", "Change the answers")
    if kind == "caregiver":
        person = name or "the person you care for"
        their = f"{name}'s" if name else "their"
        return Words("caregiver", f"Check your answers about {person}", f"Send to {their} care team",
                     "Try sending these answers again now", f"Sent to {their} care team",
                     f"What will be saved to {their} health record", f"Your answers about {person} to",
                     f"A result for {their} record:",
                     f"A note saying these answers about {person} came from you as their caregiver, through this app, and when.",
                     f"others in {their} care team who can see {their} health record", "Change my answers")
    return Words("patient", "Check your answers", "Send to my care team", "Try sending these answers again now",
                 "Sent to your care team", "What will be saved to your health record", "Your answers to",
                 "A result for your record:", "A note saying these came from you, through this app, and when.",
                 "others in your care team who can see your health record", "Change my answers")


def form_title(title: str, form_codes: Any, kind: str | None) -> str:
    """The instrument's name for a clinician; a plain title for everyone else when one is known."""
    if kind == "clinician":
        return title
    for coding in form_codes or ():
        if isinstance(coding, Mapping) and coding.get("code") in PLAIN_TITLES:
            return PLAIN_TITLES[coding["code"]]
    return title


def plain_record(resource_type: str, status: int | None = None) -> str:
    """A saved record in a patient's words (an updated Task is the care team's request, now done)."""
    if resource_type == "Task":
        return "Your care team's request, marked as done" if status == 200 else "A note for your care team"
    return PLAIN_RECORDS.get(resource_type, "A record")


def init_app(app: Any) -> None:
    """Make the helpers available to every template."""
    app.jinja_env.globals.update(words=words, form_title=form_title, plain_record=plain_record)
