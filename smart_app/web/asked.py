"""Pure: the clinician's view of the forms asked for this patient and visit: what was asked, what is done
(with its score and date), what is overdue. Built from the Tasks and the catalog this request already read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Callable, Iterable

from smart_app.assignments.model import AssignedTask, DueState, due_state
from smart_app.assignments.orders import relative_to
from smart_app.context import FhirReference
from smart_app.forms.catalog import CatalogEntry, CompletedResponse

ResponseUrl = Callable[[CatalogEntry, CompletedResponse], str]

# The order lines are shown in: what needs attention first.
_ORDER = ("overdue", "asked", "started", "done", "cancelled", "closed")


@dataclass(frozen=True)
class RequestLine:
    """One form asked of the patient, as the sidebar shows it."""

    task_id: str
    title: str
    state: str            # overdue | asked | started | done | cancelled | closed
    asked_on: str | None  # FHIR dates as the EHR wrote them: the page formats them (smart_app/i18n.py)
    due: str | None
    done_on: str | None
    score: str | None     # "14 of 27, moderate"
    response_url: str | None
    this_visit: bool
    cancellable: bool
    requester_is_me: bool


def _state(task: AssignedTask, now: datetime, tz: tzinfo) -> str:
    """Where the request stands: an open one past its due moment is overdue."""
    if task.status == "completed":
        return "done"
    if task.status == "cancelled":
        return "cancelled"
    if not task.is_open:
        return "closed"
    if due_state(task, now, tz) is DueState.OVERDUE:
        return "overdue"
    return "started" if task.status == "in-progress" else "asked"


def _entry_for(task: AssignedTask, entries: Iterable[CatalogEntry]) -> CatalogEntry | None:
    """The catalog's form this Task names (same url|version, else same url)."""
    if task.questionnaire is None:
        return None
    entries = list(entries)
    exact = next((e for e in entries if e.canonical == task.questionnaire.text), None)
    return exact or next((e for e in entries if e.url == task.questionnaire.url), None)


def _title(task: AssignedTask, entry: CatalogEntry | None) -> str:
    """The Task's description, else the form's title, else the last part of its canonical url."""
    if task.description:
        return task.description
    if entry is not None:
        return entry.title
    if task.questionnaire is not None:
        return task.questionnaire.url.rstrip("/").rsplit("/", 1)[-1] or task.questionnaire.url
    return "A form"


def _answers(task: AssignedTask, entry: CatalogEntry | None) -> CompletedResponse | None:
    """The completed response the Task's output names, when the catalog read it."""
    if entry is None or task.output_response is None:
        return None
    return next((c for c in entry.completed if c.id == task.output_response.id), None)


def score_text(response: CompletedResponse | None) -> str | None:
    """'14 of 27, moderate' for a scored response (computed by the app's scoring), else None."""
    score = response.score if response else None
    if score is None or score.total is None:
        return None
    maximum = f" of {score.instrument.maximum}" if score.instrument and score.instrument.maximum else ""
    band = f", {score.band}" if score.band else ""
    return f"{score.total}{maximum}{band}"


def request_lines(tasks: Iterable[AssignedTask], entries: list[CatalogEntry], *, now: datetime, tz: tzinfo,
                  me: FhirReference | None, iss: str, encounter_id: str | None, response_url: ResponseUrl,
                  can_cancel: bool) -> list[RequestLine]:
    """This visit's requests (any status) and every open one, overdue first, then asked, then done."""
    lines: list[RequestLine] = []
    for task in tasks:
        this_visit = bool(encounter_id) and task.belongs_to(encounter_id=encounter_id)
        if not (this_visit or task.is_open):
            continue
        entry = _entry_for(task, entries)
        answers = _answers(task, entry)
        mine = me is not None and task.requester is not None and relative_to(task.requester, iss) == relative_to(me, iss)
        state = _state(task, now, tz)
        lines.append(RequestLine(
            task_id=task.id, title=_title(task, entry), state=state, asked_on=task.authored_on, due=task.due_text,
            done_on=(answers.authored if answers else task.last_modified) if state == "done" else None,
            score=score_text(answers), response_url=response_url(entry, answers) if entry and answers else None,
            this_visit=this_visit, cancellable=can_cancel and mine and not task.is_finished, requester_is_me=mine))
    lines.sort(key=lambda line: (_ORDER.index(line.state), not line.this_visit))
    return lines
