"""Plain words for assigned forms and the visit, in the patient's own time zone (pure).

A patient never reads an id, a code, UTC or an ISO date here. All English text of this area
is in this one module so a translation layer can replace it in one place.
"""
from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any, Mapping

from smart_app.assignments.model import AssignedTask, DueState, due_state, parse_due

CANNOT_OPEN = "This form could not be opened; your care team has been told."
DUE_WORDS = {DueState.OVERDUE: "Overdue", DueState.DUE_SOON: "Due soon"}


def day_text(day: date, today: date) -> str:
    """'Tuesday 14 January' (with the year when it is not this year's)."""
    text = f"{day:%A} {day.day} {day:%B}"
    return text if day.year == today.year else f"{text} {day.year}"


def time_text(moment: datetime) -> str:
    """'9:00' or '14:30' (24-hour clock, no leading zero on the hour)."""
    return f"{moment.hour}:{moment.minute:02d}"


def asked_line(task: AssignedTask, tz: tzinfo, now: datetime) -> str:
    """'Dr Adeyemi asked you to fill this in by Tuesday 14 January' (who and when, as far as known)."""
    who = task.requester_display or "Your care team"
    due = task.due_local_date(tz)
    if due is None:
        return f"{who} asked you to fill this in."
    return f"{who} asked you to fill this in by {day_text(due, now.astimezone(tz).date())}."


def due_label(task: AssignedTask, tz: tzinfo, now: datetime) -> str | None:
    """'Overdue' or 'Due soon', else None."""
    return DUE_WORDS.get(due_state(task, now, tz))


def clinician_of(appointment: Mapping[str, Any]) -> str | None:
    """The display name of the appointment's practitioner participant, if the EHR gave one."""
    for participant in appointment.get("participant") or []:
        actor = participant.get("actor") if isinstance(participant, Mapping) else None
        if not isinstance(actor, Mapping):
            continue
        reference, display = str(actor.get("reference") or ""), actor.get("display")
        if reference.startswith(("Practitioner/", "PractitionerRole/")) and isinstance(display, str) and display.strip():
            return display.strip()
    return None


def visit_line(appointment: Mapping[str, Any] | None, tz: tzinfo, now: datetime) -> str | None:
    """'Your visit: Tuesday 15 January, 9:00, with Dr Folake Adeyemi'; None when there is no readable start."""
    if not appointment:
        return None
    start = parse_due(appointment.get("start"), tz) if isinstance(appointment.get("start"), str) else None
    if start is None or len(str(appointment.get("start"))) <= 10:
        return None  # an Appointment's start is an instant; anything else is not shown as a time
    local = start.astimezone(tz)
    text = f"Your visit: {day_text(local.date(), now.astimezone(tz).date())}, {time_text(local)}"
    clinician = clinician_of(appointment)
    return f"{text}, with {clinician}" if clinician else text
