"""Plain words for assigned forms and the visit, in the reader's language and time zone.

A patient never reads an id, a code, UTC or an ISO date here: dates go through smart_app.i18n
(one format per kind of value) and text through `_()` (flask_babel.gettext: the page's language
in a request, English outside one).
"""
from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any, Mapping

from flask_babel import gettext

from smart_app import i18n
from smart_app.assignments.model import AssignedTask, DueState, due_state, parse_due


def _(text: str, **values: Any) -> str:
    """flask_babel.gettext, typed (Flask-Babel publishes no types)."""
    return str(gettext(text, **values))


def N_(text: str) -> str:
    """Mark text for the catalog; it is translated where it is shown."""
    return text


DUE_WORDS = {DueState.OVERDUE: N_("Overdue"), DueState.DUE_SOON: N_("Due soon")}


def day_text(day: date, today: date, tz: tzinfo) -> str:
    """'Tuesday 14 January' this year; '14 January 2027' in another year."""
    return i18n.day(day, zone=tz) if day.year == today.year else i18n.date(day, zone=tz)


def asked_line(task: AssignedTask, tz: tzinfo, now: datetime) -> str:
    """'Dr Adeyemi asked you to fill this in by Tuesday 14 January.' (who and when, as far as known)."""
    due = task.due_local_date(tz)
    who = task.requester_display
    if due is None:
        return _("%(who)s asked you to fill this in.", who=who) if who else _("Your care team asked you to fill this in.")
    when = day_text(due, now.astimezone(tz).date(), tz)
    if who:
        return _("%(who)s asked you to fill this in by %(day)s.", who=who, day=when)
    return _("Your care team asked you to fill this in by %(day)s.", day=when)


def due_label(task: AssignedTask, tz: tzinfo, now: datetime) -> str | None:
    """'Overdue' or 'Due soon' in the reader's language, else None."""
    words = DUE_WORDS.get(due_state(task, now, tz))
    return _(words) if words else None


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
    """'Your visit: Tuesday 15 January, 09:00, with Dr Folake Adeyemi'; None without a start instant."""
    if not appointment or not isinstance(appointment.get("start"), str) or len(appointment["start"]) <= 10:
        return None  # an Appointment's start is an instant; anything else is not shown as a time
    start = parse_due(appointment["start"], tz)
    if start is None:
        return None
    local = start.astimezone(tz)
    when = day_text(local.date(), now.astimezone(tz).date(), tz)
    clinician = clinician_of(appointment)
    if clinician:
        return _("Your visit: %(day)s, %(time)s, with %(clinician)s", day=when, time=i18n.time(local, zone=tz),
                 clinician=clinician)
    return _("Your visit: %(day)s, %(time)s", day=when, time=i18n.time(local, zone=tz))
