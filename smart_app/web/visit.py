"""The home page's top panel: the next visit and the forms the care team asked for, in plain words.

It reads nothing itself: the catalog's one read wave brought the Tasks, their Questionnaires
and the Appointment (smart_app/forms/catalog.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import gettext as _

from smart_app.audit import events as audit
from smart_app import i18n
from smart_app.assignments import wording
from smart_app.assignments.model import AssignedTask, DueState, due_state
from smart_app.launch.session import Launch
from smart_app.forms.catalog import CatalogEntry, assignments, catalog
from smart_app.wording import form_title


@dataclass(frozen=True)
class AssignedItem:
    """One assigned form as the patient sees it."""

    title: str
    url: str | None  # None: this form could not be opened
    asked: str
    due_label: str | None
    due_class: str | None
    status: str  # the catalog status (due | in-progress | sending | not-sent | completed) or "unopenable"


@dataclass(frozen=True)
class VisitPanel:
    """The visit line and the assigned forms, grouped under the visit when they point at it."""

    visit: str | None
    for_visit: list[AssignedItem] = field(default_factory=list)
    other: list[AssignedItem] = field(default_factory=list)
    task_note: str | None = None  # for clinicians/developers only (never shown to a patient)


def patient_zone() -> tzinfo:
    """The reader's zone: the one the browser reported, else the deployment's (smart_app.i18n)."""
    return ZoneInfo(i18n.select_zone())


def _item(launch: Launch, task: AssignedTask, entry: CatalogEntry | None, tz: tzinfo, now: datetime) -> AssignedItem:
    """The words and link for one Task."""
    label = wording.due_label(task, tz, now)
    css = {DueState.OVERDUE: "overdue", DueState.DUE_SOON: "soon"}.get(due_state(task, now, tz))
    if entry is None:
        return AssignedItem(title=task.description or _("A form from your care team"), url=None,
                            asked=wording.asked_line(task, tz, now), due_label=label, due_class=css,
                            status="unopenable")
    return AssignedItem(title=form_title(entry.title, entry.resource.get("code"), launch.context.user_kind),
                        url=url_for("questionnaires.fill", handle=launch.handle, key=entry.key),
                        asked=wording.asked_line(task, tz, now), due_label=label, due_class=css, status=entry.status)


def visit_panel(launch: Launch) -> VisitPanel | None:
    """The visit and the assigned forms for a patient or caregiver launch; None when there is neither."""
    ctx = launch.context
    if ctx.user_kind == "clinician":
        return None  # the clinician's sidebar shows what was asked in its own words
    found = assignments(launch)
    entries = catalog(launch)
    tz, now = patient_zone(), datetime.now(timezone.utc)
    appointment = found.appointment
    visit = wording.visit_line(appointment, tz, now)
    by_task = {e.assignment.id: e for e in entries if e.assignment is not None}
    appointment_id = appointment.get("id") if appointment else None
    for_visit: list[AssignedItem] = []
    other: list[AssignedItem] = []
    for task in found.tasks:
        item = _item(launch, task, by_task.get(task.id), tz, now)
        if item.status == "unopenable" or task.id in by_task:
            grouped = task.belongs_to(appointment_id=appointment_id, encounter_id=ctx.encounter_id)
            (for_visit if grouped else other).append(item)
    if found.task_read.skipped == "no-scope":
        audit.event("assignment.task_scope_missing", handle=launch.handle)
    if visit is None and not found.tasks:
        return None
    return VisitPanel(visit=visit, for_visit=for_visit, other=other)
