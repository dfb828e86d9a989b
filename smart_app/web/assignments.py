"""The clinician closes the loop: ask the patient to fill a form (picker, then one SDC Task), cancel a
request, and open the form an EHR launch names in its fhirContext (a Questionnaire or a Task).

Each view parses the request, calls one function of `smart_app.assignments.ordering` (or the catalog)
and redirects or renders; the words are for a clinician.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from flask import Blueprint, Flask, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from smart_app.assignments.model import parse_task
from smart_app.assignments.ordering import (AskOutcome, CancelOutcome, ask_patient, cancel_request, find_questionnaires,
                                            may_ask, task_id_of)
from smart_app.launch.session import Launch, current_launch
from smart_app.forms.catalog import CatalogEntry, assignments, catalog, forms_on_offer

bp = Blueprint("assignments", __name__, url_prefix="/l/<handle>")

# What each outcome tells the clinician ({title} is the form's title); marked for translation (.ci/translations).
ASKED = {
    AskOutcome.CREATED: (_l("The patient has been asked to fill in %(title)s."), "saved"),
    AskOutcome.ALREADY_ASKED: (_l("The patient has already been asked to fill in %(title)s; nothing new was sent."), "saved"),
    AskOutcome.NOT_ALLOWED: (_l("This app may not ask patients to fill in forms in this EHR."), "error"),
    AskOutcome.UNKNOWN_FORM: (_l("That form is not available any more. Choose another one."), "error"),
    AskOutcome.FAILED: (_l("The EHR did not accept the request. Nothing was sent; try again in a moment."), "error"),
}
CANCELLED = {
    CancelOutcome.CANCELLED: (_l("The request for %(title)s was cancelled."), "saved"),
    CancelOutcome.ALREADY_COMPLETED: (_l("The patient has already filled in %(title)s, so the request was not cancelled."),
                                      "error"),
    CancelOutcome.ALREADY_CLOSED: (_l("The request for %(title)s was already closed. Nothing was changed."), "saved"),
    CancelOutcome.NOT_YOURS: (_l("Only the clinician who asked for %(title)s can cancel the request. Nothing was changed."),
                              "error"),
    CancelOutcome.NOT_FOUND: (_l("That request is not in this patient's record any more. Nothing was changed."), "error"),
    CancelOutcome.NOT_ALLOWED: (_l("This app may not change form requests in this EHR. Nothing was changed."), "error"),
    CancelOutcome.NO_VERSION: (_l("The EHR cannot tell this app whether the request changed meanwhile, so it was not "
                                  "cancelled here. Cancel it in the EHR."), "error"),
    CancelOutcome.KEPT_CHANGING: (_l("The request kept changing in the EHR while this app tried to cancel it. Nothing was "
                                     "overwritten; reload the page and decide again."), "error"),
    CancelOutcome.FAILED: (_l("The EHR did not accept the cancellation. Nothing was changed; try again in a moment."), "error"),
}


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)


def _clinician_launch(handle: str) -> Launch:
    """The launch, for a clinician with a patient only (403 otherwise)."""
    launch = current_launch(handle)
    if launch.context.user_kind != "clinician" or not launch.context.patient_id:
        abort(403)
    return launch


def _due(raw: str | None, today: date) -> tuple[str | None, str | None]:
    """(the due date as a FHIR date, or None for "the visit"; an error message for a bad one)."""
    raw = (raw or "").strip()
    if not raw:
        return None, None
    try:
        chosen = date.fromisoformat(raw)
    except ValueError:
        return None, _("Enter the due date as a date, for example 2026-01-20.")
    if chosen < today:
        return None, _("The due date is in the past. Choose today or a later day.")
    return chosen.isoformat(), None


def _render_picker(launch: Launch, *, error: str | None = None, chosen: str = "", due: str = "", status: int = 200):
    """The form picker: a search box (GET, no JavaScript needed), matching forms as radio buttons, a due date."""
    text = request.values.get("q", "")
    found = find_questionnaires(launch, text, forms_on_offer())
    return make_response(render_template("assignments/ask.html", launch=launch, found=found, q=text, error=error,
                                         chosen=chosen, due=due), status)


@bp.get("/ask")
def ask(handle: str) -> Response:
    """Choose a form to ask the patient to fill in: the EHR's active Questionnaires and the app's library."""
    launch = _clinician_launch(handle)
    if not may_ask(launch):
        abort(403)
    return _render_picker(launch)


@bp.post("/ask")
def create(handle: str) -> Response:
    """Ask the patient to fill in the chosen form before the visit: one SDC Task, however often this is posted."""
    launch = _clinician_launch(handle)
    if not may_ask(launch):
        abort(403)
    canonical = request.form.get("questionnaire", "")
    due, problem = _due(request.form.get("due"), datetime.now(timezone.utc).date())
    if not canonical:
        problem = _("Choose the form the patient should fill in.")
    if problem:
        return _render_picker(launch, error=problem, chosen=canonical, due=request.form.get("due", ""), status=400)
    result = ask_patient(launch, canonical, forms_on_offer(), due)
    message, category = ASKED[result.outcome]
    title = (result.task.description if result.task and result.task.description else None) or _("the form")
    if result.outcome is AskOutcome.UNKNOWN_FORM:
        return _render_picker(launch, error=str(message), due=request.form.get("due", ""), status=400)
    flash(str(message) % {"title": title}, category)
    return redirect(url_for("home.launch_home", handle=handle), code=303)


@bp.post("/requests/<task_id>/cancel")
def cancel(handle: str, task_id: str) -> Response:
    """Cancel a form request this clinician made (If-Match; a 412 is re-read and decided again)."""
    launch = _clinician_launch(handle)
    if task_id_of(task_id) is None:
        abort(404)
    result = cancel_request(launch, task_id)
    message, category = CANCELLED[result.outcome]
    title = (result.task.description if result.task and result.task.description else None) or _("this form")
    flash(str(message) % {"title": title}, category)
    return redirect(url_for("home.launch_home", handle=handle), code=303)  # the message shows at the top


# ------------------------------------------------------------------------------ fhirContext landing


def _named_entry(entries: list[CatalogEntry], task: dict | None) -> CatalogEntry | None:
    """The catalog's form the launch named: the Task's Questionnaire, else the first one fhirContext asked for."""
    parsed = parse_task(task) if task else None
    if parsed is not None and parsed.questionnaire is not None:
        wanted = parsed.questionnaire
        found = next((e for e in entries if e.canonical == wanted.text), None) or \
            next((e for e in entries if e.url == wanted.url and wanted.version is None), None)
        if found is not None:
            return found
    return next((e for e in entries if e.requested), None)


@bp.get("/open")
def open_context(handle: str) -> Response:
    """Where an EHR launch naming a form lands: straight into that form, or "already completed, fill in again"."""
    launch = current_launch(handle)
    entries = catalog(launch)
    task = assignments(launch).named  # the catalog's one read of it
    entry = _named_entry(entries, task)
    home = url_for("home.launch_home", handle=handle)
    if entry is None:
        return make_response(render_template("assignments/opened.html", launch=launch, entry=None, home=home,
                                             task=None, completed_on=None), 200)
    parsed = parse_task(task) if task else None
    done = parsed.status == "completed" if parsed else (entry.status == "completed")
    closed = parsed is not None and parsed.is_finished and not done
    if not done and not closed:
        return redirect(url_for("questionnaires.fill", handle=handle, key=entry.key), code=303)
    latest = entry.latest
    completed_on = latest.authored if latest else (parsed.last_modified if parsed else None)
    return make_response(render_template("assignments/opened.html", launch=launch, entry=entry, home=home, task=parsed,
                                         done=done, completed_on=completed_on,
                                         fill_url=url_for("questionnaires.fill", handle=handle, key=entry.key)), 200)
