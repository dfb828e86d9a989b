"""Words by reader: the patient, a caregiver answering for them (proxy), or a clinician entering for them.

Provenance already records who answered (author) and for whom (subject/source); these words
say the same thing on the page. Patients see plain form titles; clinicians see instrument names,
and bands are shown to patients only when deployment turns them on (docs/safety.md).
Templates call `words(whose)` and `form_title(entry, kind)`. Every phrase is translated
(flask_babel.gettext: the page's language in a request, English outside one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from flask_babel import gettext as _


def N_(text: str) -> str:
    """Mark text for the catalog; it is translated where it is shown."""
    return text


# Plain titles for patients and caregivers, by the form's code (so EHR copies get them too).
PLAIN_TITLES = {
    "44249-1": N_("How your mood has been"),
    "69737-5": N_("How anxious you have felt"),
}
# What a saved record is, in a patient's words (a patient never sees a resource type or an id).
PLAIN_RECORDS = {
    "QuestionnaireResponse": N_("Your answers"),
    "Observation": N_("A result worked out from your answers"),
    "Flag": N_("A note asking your care team to look at these answers first"),
    "Provenance": N_("A note of who sent these, and when"),
}

# Patient.gender (administrative-gender) in words.
GENDERS = {"male": N_("Male"), "female": N_("Female"), "other": N_("Other"), "unknown": N_("Unknown")}


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
    # Added for the receipt (issue 14): a sentence with %(when)s, then what happens next.
    sent_on: str = ""
    sent_next: str = ""
    who_sees_people: str = ""  # "the people in your care team who can see your health record"

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
        patient = name or _("the patient")
        return Words("clinician", _("Check the answers"), _("Save to the chart"), _("Try saving to the chart again now"),
                     _("Saved to the chart"), _("What will be saved to the chart"), _("The answers to"),
                     _("A result for the chart:"),
                     _("A note saying you entered these for %(patient)s, through this app, and when.", patient=patient),
                     _("others in the care team who can see the chart"), _("Change the answers"),
                     sent_on=_("Saved to the chart on %(when)s."),
                     sent_next=_("The care team can see it in the chart now."),
                     who_sees_people=_("the people in the care team who can see the chart"))
    if kind == "caregiver":
        if name:
            return Words("caregiver", _("Check your answers about %(name)s", name=name),
                         _("Send to %(name)s's care team", name=name), _("Try sending these answers again now"),
                         _("Sent to %(name)s's care team", name=name),
                         _("What will be saved to %(name)s's health record", name=name),
                         _("Your answers about %(name)s to", name=name), _("A result for %(name)s's record:", name=name),
                         _("A note saying these answers about %(name)s came from you as their caregiver, through this app, and when.", name=name),
                         _("others in %(name)s's care team who can see %(name)s's health record", name=name),
                         _("Change my answers"),
                         sent_on=_("Sent to %(name)s's care team on %(when)s.", name=name, when="%(when)s"),
                         sent_next=_("They will see it before the visit."),
                         who_sees_people=_("the people in %(name)s's care team who can see %(name)s's health record", name=name))
        return Words("caregiver", _("Check your answers about the person you care for"), _("Send to their care team"),
                     _("Try sending these answers again now"), _("Sent to their care team"),
                     _("What will be saved to their health record"), _("Your answers about the person you care for to"),
                     _("A result for their record:"),
                     _("A note saying these answers about the person you care for came from you as their caregiver, through this app, and when."),
                     _("others in their care team who can see their health record"), _("Change my answers"),
                     sent_on=_("Sent to their care team on %(when)s."),
                     sent_next=_("They will see it before the visit."),
                     who_sees_people=_("the people in their care team who can see their health record"))
    return Words("patient", _("Check your answers"), _("Send to my care team"), _("Try sending these answers again now"),
                 _("Sent to your care team"), _("What will be saved to your health record"), _("Your answers to"),
                 _("A result for your record:"), _("A note saying these came from you, through this app, and when."),
                 _("others in your care team who can see your health record"), _("Change my answers"),
                 sent_on=_("Sent to your care team on %(when)s."),
                 sent_next=_("They will see it before your visit."),
                 who_sees_people=_("the people in your care team who can see your health record"))


def form_title(title: str, form_codes: Any, kind: str | None, resource: Mapping[str, Any] | None = None,
               language: str | None = None) -> str:
    """The instrument's name for a clinician; a plain title for everyone else when one is known.

    With the Questionnaire `resource`, its title's translation in `language` (the page's when
    not given) is used when it has one (FHIR translation extension on `_title`).
    """
    if kind != "clinician":
        for coding in form_codes or ():
            if isinstance(coding, Mapping) and coding.get("code") in PLAIN_TITLES:
                return _(PLAIN_TITLES[coding["code"]])
    if isinstance(resource, Mapping):
        from smart_app.forms.translation import translated  # wording is foundation: the form rule is asked here only
        from smart_app.i18n import current_language

        return translated(resource, "title", language or current_language()) or title
    return title


def plain_record(resource_type: str) -> str:
    """A saved record in a patient's words."""
    return _(PLAIN_RECORDS.get(resource_type, N_("A record")))


def gender_words(code: str | None) -> str:
    """Patient.gender in the reader's words (an unknown code is shown as written)."""
    return _(GENDERS[code]) if code in GENDERS else (code or "")


def reader_of(kind: str | None) -> str:
    """Whose words a page about the record uses: "clinician", or "patient" (a caregiver reads as the patient's side)."""
    return "clinician" if kind == "clinician" else "patient"


def init_app(app: Any) -> None:
    """Make the helpers available to every template."""
    app.jinja_env.globals.update(words=words, form_title=form_title, plain_record=plain_record, gender_words=gender_words)
