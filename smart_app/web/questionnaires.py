"""Questionnaire pages: list, fill (no-JS continue/validate/draft), review, send, reopen (the receipt: web/submissions.py).

Each view parses the request, calls the catalog / drafts / submission modules and renders.
Who the response is about and who wrote it always come from the launch token.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo
from typing import Any

from flask import Blueprint, Flask, abort, jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from smart_app.assignments.model import AssignedTask
from smart_app.audit import events as audit
from smart_app import delivery, safety
from smart_app.delivery import drafts, submission
from smart_app.forms import terminology
from smart_app.ehr.reads import Read, ReadPlan
from smart_app.ehr.client import FhirError
from smart_app.errors import LaunchError
from smart_app.launch.session import Launch, current_launch
from smart_app.forms.catalog import (CatalogEntry, canonical_of, catalog, catalog_plan, completed_response, entry_for, form_for,
                                    response_score, shared_find_by_id)
from smart_app.forms.queries import query_runner
from smart_app.forms import FillContext, FormState, FormView, QuestionnaireError, evaluate, populate
from smart_app.forms.field_errors import attach_field_errors
from smart_app.forms.units import unit_words
from smart_app.forms.extraction_summary import describe, skipped_text
from smart_app.forms.model import Form
from smart_app.forms.paging import Section, first_step_with_errors, sections, step_view
from smart_app.forms.state import parse_field_name
from smart_app.delivery.answered import Prepared, now_iso, prepare, questionnaire_response
from smart_app.forms import effort, live
from smart_app.safety.notice import notice, stored
from flask_babel import gettext as _

from smart_app import i18n
from smart_app.wording import form_title, reader_of
from smart_app.web.home import PreVisitTask, TaskStatus
from smart_app.web.whose import launch_plan, launch_resource, whose

def N_(text: str) -> str:
    """Mark text for the catalog; it is translated where it is shown."""
    return text


bp = Blueprint("questionnaires", __name__, url_prefix="/l/<handle>")
KIND = "questionnaire"
NO_QR_WRITE = N_("This app can read your health record but was not allowed to save questionnaire answers to it, so you can look at questionnaires here but not send them.")


def init_app(app: Flask) -> None:
    """Register the blueprint (its home page tasks are listed in web/tasks.py)."""
    app.register_blueprint(bp)
    app.jinja_env.globals["saved_status"] = saved_status
    app.jinja_env.filters["unit_words"] = lambda unit: i18n.say(unit_words(unit))


# ------------------------------------------------------------------------------------------- helpers


def read_only_reason(launch: Launch) -> str | None:
    """Why answers cannot be sent from this launch, said up front; None when they can."""
    perms = launch.context.permissions
    reason = perms.read_only_reason or (None if perms.can_write("QuestionnaireResponse") else NO_QR_WRITE)
    return _(reason) if reason else None


def _entry_or_404(launch: Launch, key: str) -> CatalogEntry:
    """The catalog entry for `key`, or a 404 page."""
    entry = entry_for(launch, key)
    if entry is None:
        abort(404)
    return entry




def _rescue(launch: Launch, key: str) -> None:
    """Keep this post's raw answer fields for a relaunch (capped per launch by delivery.hold)."""
    delivery.hold(launch, key, [(k, v) for k, v in request.form.items(multi=True) if k.startswith(("q.", "u.", "o.", "n.", "f.", "i."))])


def _handle() -> str:
    """The launch handle of the page being served (every route here is under /l/<handle>/)."""
    return str((request.view_args or {})["handle"])


def _raised_message(error: Exception) -> str:
    """The message an error was raised with (a `Text` keeps its catalog id; str(error) would not)."""
    first = error.args[0] if error.args else ""
    return first if isinstance(first, str) else str(error)


def _form_or_400(entry: CatalogEntry) -> Form:
    """The built form (cached per process, shared); a questionnaire this app cannot show gets a plain 400 page."""
    try:
        form = entry.form_or_raise()
    except QuestionnaireError as error:
        # A plain message from the form builder (limits, unsupported features); escaped like all text.
        abort(make_response(render_template("questionnaires/unusable.html", launch=current_launch(_handle()),
                                            entry=entry, message=_raised_message(error)), 400))
    return _with_terminology(current_launch(_handle()), form)


def _with_terminology(launch: Launch, form: Form) -> Form:
    """The form with answer lists the EHR expands for it (ValueSet/$expand, one wave, cached)."""
    if not form.external_value_sets() or not launch.context.permissions.can_read("ValueSet"):
        return form  # bundled lists, then free text, serve instead
    return terminology.resolve_form(launch.fhir, form)


def _read_or_none(launch: Launch, resource_type: str, resource_id: str) -> dict | None:
    """One resource, or None when it cannot be read (the page says less instead of failing)."""
    try:
        return launch.fhir.read(resource_type, resource_id)
    except FhirError:
        return None


def read_page(launch: Launch, *more: ReadPlan) -> None:
    """A questionnaire page's reads in one wave: the catalog's, the launch's Patient and Encounter, and `more`."""
    plan = catalog_plan(launch) + launch_plan(launch)
    for extra in more:
        plan = plan + extra
    launch.reads.fetch(plan)


def _context_resources(launch: Launch, form: Form | None) -> dict[str, dict]:
    """Patient, Encounter and user for expressions (only what is readable; each read once per request)."""
    ctx = launch.context
    found = {name: r for name in ("patient", "encounter") if (r := launch_resource(launch, name)) is not None}
    if form is not None and ctx.fhir_user and ctx.fhir_user.resource_type != "Patient" and any(
            spec.name.lower() == "user" for spec in form.launch_context) and ctx.permissions.can_read(ctx.fhir_user.resource_type):
        user = _read_or_none(launch, ctx.fhir_user.resource_type, ctx.fhir_user.id)
        if user is not None:
            found["user"] = user
    if ctx.fhir_user and ctx.fhir_user.resource_type == "Patient" and "patient" in found:
        found["user"] = found["patient"]
    return found


def _fill_context(launch: Launch, form: Form, resources: dict[str, dict] | None = None) -> FillContext:
    """The expression context: launch resources only when the form declares it uses them, and
    x-fhir-query bound to the launch's own server."""
    if resources is None:
        resources = _context_resources(launch, form) if form.launch_context else {}
    # Date-times a person types are read on their own clock (the zone the page shows beside the field).
    return FillContext(resources=resources, fhir_query=query_runner(launch), tz=ZoneInfo(i18n.current_zone()))


def _evaluated(launch: Launch, entry: CatalogEntry, view: FormView) -> FormView:
    """Audit each expression that failed on this form (by linkId), so the form's owner can fix it."""
    for link_id in view.failures:
        audit.event("form.expression_failed", handle=launch.handle, questionnaire=entry.key, link_id=link_id)
    return view


def _observation_codes(launch: Launch, form: Form) -> list[str]:
    """system|code of the items that prefill from observationLinkPeriod ([] when Observations are not readable)."""
    ctx = launch.context
    if not ctx.patient_id or not ctx.permissions.can_read("Observation"):
        return []
    return sorted({f"{c.get('system')}|{c.get('code')}" for item in form.walk()
                   if item.observation_link_period is not None for c in item.code if c.get("code")})


def prefill_plan(launch: Launch, key: str) -> ReadPlan:
    """On a first visit to a bundled form, its Observation search, declared with the page's other reads.

    Which form `key` is comes from the catalog, so the search would otherwise wait for it; the bundled
    form under `key` names the codes (an EHR copy with other codes searches again: bench (a) shows the
    intake page at depth 1 with this, 2 without). Nothing when a saved draft is shown instead.
    """
    bundled = shared_find_by_id(key)
    if bundled is None:
        return ReadPlan()
    try:
        form = form_for(bundled)
    except QuestionnaireError:
        return ReadPlan()
    codes = _observation_codes(launch, form)
    draft = drafts.load(launch, canonical_of(bundled)) if codes else None
    if not codes or (draft is not None and draft.saved_at is not None):
        return ReadPlan()
    return ReadPlan.of(_newest_observations(launch, codes, "50"))


def _newest_observations(launch: Launch, codes: list[str], count: str) -> Read:
    """The first page of the patient's newest Observations with any of these codes."""
    return Read.search(f"observations.{count}.{','.join(codes)}", "Observation", [
        ("patient", launch.context.patient_id or ""), ("code", ",".join(codes)), ("_sort", "-date"), ("_count", count)])


def _recent_observations(launch: Launch, form: Form) -> list[dict]:
    """The patient's recent Observations with the codes of items that prefill from observationLinkPeriod,
    newest first ([] when the search fails: prefill is a convenience, the form works without it).

    One page of one search for every code; when the server has more, each code that page did not
    cover gets its own newest-first search (all in one more wave), so a frequent measurement cannot
    hide a rarer one.
    """
    codes = _observation_codes(launch, form)
    if not codes:
        return []
    first = _newest_observations(launch, codes, "50")
    found = launch.reads.fetch(ReadPlan.of(first)).value(first.name)
    if found is None:
        return []
    results = list(found.matches)
    uncovered = [c for c in codes if not any(_has_code(o, c) for o in results)] if found.truncated else []
    if uncovered:
        more = launch.reads.fetch(ReadPlan(tuple(_newest_observations(launch, [code], "1") for code in uncovered)))
        for outcome in more.values():
            results.extend(outcome.matches if outcome is not None and not isinstance(outcome, FhirError) else [])
    return results


def _has_code(observation: dict, code: str) -> bool:
    """True when the Observation's code carries this `system|code`."""
    system, _, value = code.partition("|")
    codings = (observation.get("code") or {}).get("coding") or []
    return any(isinstance(c, dict) and c.get("code") == value and str(c.get("system")) == system for c in codings)


def _step_scope(steps: tuple[Section, ...], names: list[str]) -> frozenset[str] | None:
    """The linkIds a post may change: the sections its fields belong to (None for a one-page form)."""
    if not steps:
        return None
    posted = {parsed[1] for name in names if (parsed := parse_field_name(name))}
    return frozenset().union(*(s.link_ids for s in steps if s.link_ids & posted))


def _posted_step(steps: tuple[Section, ...], raw: str | None) -> int:
    """The step a paged form was posted from (0 when absent or malformed)."""
    return min(int(raw), len(steps) - 1) if steps and raw and raw.isdigit() else 0


def _posted_answers(launch: Launch, entry: CatalogEntry, form: Form, scope: frozenset[str] | None, action: str,
                    evaluated: list[FormView], files: Any = None) -> Any:
    """The function delivery.save_answers calls with the draft: the posted fields as this form's state
    and in-progress response (the evaluation is appended to `evaluated` for the page)."""
    structural = action not in ("continue", "submit")

    def answers(draft: drafts.Draft) -> delivery.Answers:
        """The posted fields as this form's state and in-progress response."""
        state = FormState.from_post(form, request.form, files, previous=draft.state, scope=scope)
        if structural:
            state.apply_action(form, action)
        view = _evaluated(launch, entry, evaluate(form, state, _fill_context(launch, form), validate=not structural))
        evaluated.append(view)
        in_progress = questionnaire_response(launch, form, state, view, "in-progress", draft.submission_id, now_iso(),
                                             entry.canonical)
        return delivery.Answers(state=state, in_progress=in_progress, comparable=in_progress)
    return answers


def _score_text(view: FormView, kind: str | None) -> str:
    """The score line as the page words it ("" until a total can be computed)."""
    return render_template("questionnaires/_score.html", view=view, show_band=safety.show_bands(kind)).strip()


def _render_fill(launch: Launch, entry: CatalogEntry, view: FormView, draft: drafts.Draft, *,
                 saved: drafts.SaveResult | None = None, status: int = 200,
                 known: submission.SubmissionOutcome | None | delivery.Unread = delivery.Unread.UNREAD,
                 step: int = 0) -> tuple[str, int]:
    """Render the fill page (`known`: the draft's submission, None when it has none, when this request already read it).

    A long or tabbed form shows one section (`step`) with the list of sections and their state.
    """
    failed = delivery.failed_send(launch, draft, known)
    if failed:
        attach_field_errors(view, failed.field_errors)
    steps = sections(view.form)
    paging = step_view(view, steps, step) if steps else None
    return render_template(
        "questionnaires/fill.html", launch=launch, entry=entry, view=view, draft=draft, saved=saved, failed=failed,
        action_url=url_for(".fill", handle=launch.handle, key=entry.key), read_only_reason=read_only_reason(launch),
        whose=whose(launch), paging=paging, focus_errors=status == 422,
        evaluate_url=url_for(".evaluate_live", handle=launch.handle, key=entry.key),
        live_baseline=live.picture(view, _score_text(view, launch.context.user_kind)).encode(),
    ), status


# ------------------------------------------------------------------------------------------- pages


@bp.get("/questionnaires/")
def index(handle: str) -> str:
    """Questionnaires for this patient: to do, in progress, sending, completed (with scores)."""
    launch = current_launch(handle)
    read_page(launch)
    return render_template("questionnaires/list.html", launch=launch, entries=[e for e in catalog(launch) if e.offered],
                           read_only_reason=read_only_reason(launch), whose=whose(launch))


@bp.get("/questionnaires/<key>")
def fill(handle: str, key: str) -> tuple[str, int]:
    """Show the form: the saved draft, or a first render prefilled from the record."""
    launch = current_launch(handle)
    read_page(launch, prefill_plan(launch, key))
    entry = _entry_or_404(launch, key)
    form = _form_or_400(entry)
    # The catalog read this request's draft already. A save that a dead launch (or an earlier send) held
    # back is kept now (in the app; a GET never writes to the EHR, the next save mirrors it), then shown.
    shown = delivery.draft_to_show(
        launch, key, entry.canonical, lambda d, fields: FormState.from_post(
            form, MultiDict(fields), previous=d.state, scope=_step_scope(sections(form), [name for name, _ in fields])),
        found=entry.draft)
    assert shown.draft is not None  # started when missing
    draft, rescued = shown.draft, shown.rescued
    known = submission.receipt(launch, draft.submission_id)
    if draft.saved_at is None:
        recent = _recent_observations(launch, form)  # read with the page's other reads when the bundled form's codes apply
        resources = _context_resources(launch, form)
        context = _fill_context(launch, form, resources)
        prefill = populate(form, context, recent)
        view = _evaluated(launch, entry, evaluate(form, FormState.initial(form, prefill), context, validate=False))
    else:
        # Moving between sections is not a check: messages wait for "Review my answers".
        view = _evaluated(launch, entry, evaluate(form, draft.state, _fill_context(launch, form),
                                                  validate="step" not in request.args))
    audit.event("questionnaire.opened", handle=handle, questionnaire=entry.key, submission_id=draft.submission_id,
                resumed=draft.saved_at is not None, rescued=rescued)
    return _render_fill(launch, entry, view, draft, known=known, step=request.args.get("step", 0, type=int) or 0)


def _posted_entry(launch: Launch, key: str) -> CatalogEntry:
    """The form a save or a live evaluation posts to, read in the page's one wave, with the posted
    fields kept as a rescue copy first (a relaunch restores them if the launch dies on the way)."""
    if read_only_reason(launch):
        abort(403)
    try:
        read_page(launch)
        entry = _entry_or_404(launch, key)
    except LaunchError:
        _rescue(launch, key)  # the launch died while finding the form: the relaunch restores these fields
        raise
    # Kept before the draft's own EHR requests, and only for a form that exists: a made-up key parks nothing.
    _rescue(launch, key)
    return entry


@bp.post("/questionnaires/<key>")
def save(handle: str, key: str) -> Response | tuple[str, int]:
    """Continue / Review: re-evaluate enablement, validate, save the draft; review only when valid."""
    launch = current_launch(handle)
    entry = _posted_entry(launch, key)
    form = _form_or_400(entry)
    steps = sections(form)
    step = _posted_step(steps, request.form.get("step"))
    action = request.form.get("action", "continue")
    evaluated: list[FormView] = []
    answers = _posted_answers(launch, entry, form, steps[step].link_ids if steps else None, action, evaluated,
                              files=request.files)
    saved = delivery.save_answers(launch, key, entry.canonical, answers,
                                  task_id=entry.assignment.id if entry.assignment else None)
    if saved.deferred:
        # The EHR may already hold the answers sent earlier: they cannot change until that send is
        # settled. The review page says so and offers the retry.
        audit.event("questionnaire.edit_deferred", handle=handle, questionnaire=entry.key,
                    submission_id=saved.draft.submission_id)
        return redirect(url_for(".review", handle=handle, key=key), code=303)
    [view] = evaluated
    if action == "submit" and view.valid and not saved.conflict:
        return redirect(url_for(".review", handle=handle, key=key), code=303)
    verb, _, target = action.partition(":")
    if steps and verb == "goto" and target.isdigit() and not saved.conflict:
        # Another section: answers on this one are saved; the page for that step is a plain GET.
        return redirect(url_for(".fill", handle=handle, key=key, step=min(int(target), len(steps) - 1)), code=303)
    status = 422 if action == "submit" and not view.valid else 200
    if steps and action == "submit" and not view.valid:
        step = first_step_with_errors(view, steps) or 0
    # "Saved" is said only when answers were kept: an empty attempt saved nothing worth saying.
    return _render_fill(launch, entry, view, saved.draft, saved=saved.result if saved.holds_answers else None,
                        status=status, step=step)


@bp.post("/questionnaires/<key>/evaluate")
def evaluate_live(handle: str, key: str) -> Response:
    """As the person answers (JavaScript on): the engine evaluates the posted answers, they are kept as
    the draft (the same path as "Save and continue"), and only what the page must change comes back."""
    launch = current_launch(handle)
    entry = _posted_entry(launch, key)
    form = _form_or_400(entry)
    steps = sections(form)
    step = _posted_step(steps, request.form.get("step"))
    evaluated: list[FormView] = []
    # Files are never re-sent while typing: the draft keeps any file attached by a full save.
    # A pause in typing is coalesced for the EHR; the page's last post as the person leaves is not.
    saved = delivery.save_answers(launch, key, entry.canonical, _posted_answers(
        launch, entry, form, steps[step].link_ids if steps else None, "continue", evaluated),
        task_id=entry.assignment.id if entry.assignment else None, while_typing=request.form.get("leaving") != "1")
    [view] = evaluated
    now = live.picture(view, _score_text(view, launch.context.user_kind))
    found = live.changes(view, live.Baseline.decode(request.form.get("live_baseline")), now,
                         request.form.getlist("touched"))
    status = "deferred" if saved.deferred else ("empty" if not saved.holds_answers else saved_status(saved.result))
    words = render_template("questionnaires/_draft_words.html", draft_status=status,
                            whose={"kind": launch.context.user_kind}).strip()  # the reader's words, as the page says them
    body = found.to_json()
    body["errors"] = {field: [i18n.say(m) for m in messages] for field, messages in found.errors.items()}  # as the page says them
    return jsonify({**body, "draft": {"status": status, "text": words}})


def saved_status(result: drafts.SaveResult | None) -> str:
    """Where a save put the answers, as the key _draft_words.html words."""
    if result is None:
        return ""
    if result.recreated:
        return "recreated"
    if result.conflict:
        return "conflict"
    if result.held:
        return "held"
    return "ehr" if result.on_ehr else "app"


def _prepare(launch: Launch, entry: CatalogEntry, draft: drafts.Draft) -> Prepared | None:
    """What the saved draft would send; None when it is not valid yet (back to the form)."""
    form = _form_or_400(entry)
    return prepare(launch, form, entry.canonical, draft, _fill_context(launch, form))


@bp.get("/questionnaires/<key>/review")
def review(handle: str, key: str) -> Response | str:
    """A plain summary of the answers and of what will be written, before 'Send to my care team'."""
    launch = current_launch(handle)
    entry = _entry_or_404(launch, key)
    state = delivery.draft_to_review(launch, entry.canonical, key)  # answers already sent go again only under a new id
    draft = state.draft if state else None
    prepared = _prepare(launch, entry, draft) if draft else None
    if state is None or draft is None or prepared is None:
        return redirect(url_for(".fill", handle=handle, key=key), code=303)
    reason = read_only_reason(launch)
    audit.event("questionnaire.reviewed", handle=handle, questionnaire=entry.key, submission_id=draft.submission_id)
    planned, skipped = list[str](), list[str]()
    if reason is None:
        planned, skipped = submission.planned_types(launch, questionnaire_response=prepared.qr,
                                                    observations=prepared.observations, extracted=prepared.extracted,
                                                    flags=prepared.flags)
    reader = reader_of(launch.context.user_kind)
    extracted_lines = [describe(e.resource, reader) for e in prepared.extraction.resources
                       if e.resource["resourceType"] in planned]
    not_saved = [text for t in skipped if t != "Observation" and (text := skipped_text(t, reader))
                 and any(e.resource["resourceType"] == t for e in prepared.extraction.resources)]
    return render_template("questionnaires/review.html", launch=launch, entry=entry, draft=draft,
                           view=prepared.view, answers=_answer_lines(prepared.form, prepared.qr), planned=planned,
                           skipped=skipped, observations=prepared.observations, read_only_reason=reason,
                           extracted_lines=extracted_lines, not_saved=not_saved,
                           whose=whose(launch), care_team=_care_team(launch),
                           pending=state.pending, changes_waiting=state.changes_waiting,
                           safety_notice=notice(stored(prepared.findings), safety.settings()))


def _care_team(launch: Launch) -> list[str]:
    """Who will see the answers: the visit's clinicians and the patient's own clinician, by name."""
    found = launch.reads.fetch(launch_plan(launch))
    names: list[str] = []
    for resource in (found.get("encounter"), found.get("patient")):
        if not isinstance(resource, dict):
            continue
        refs = [p.get("individual") or {} for p in resource.get("participant") or []]
        refs += resource.get("generalPractitioner") or []
        for ref in refs:
            display = ref.get("display") if isinstance(ref, dict) else None
            if isinstance(display, str) and display and display not in names:
                names.append(display)
    return names


@bp.post("/questionnaires/<key>/send")
def send(handle: str, key: str) -> Response | tuple[str, int]:
    """Send to my care team: one conditional write of the reviewed answers, then the receipt."""
    launch = current_launch(handle)
    read_page(launch)  # one wave: the catalog (with the Task) and whose answers these are, kept for the receipt
    entry = _entry_or_404(launch, key)
    task = _task_of(entry)

    def ready(draft: drafts.Draft) -> delivery.Ready | None:
        """The completed response of a valid draft; None sends the person back to the form."""
        prepared = _prepare(launch, entry, draft)
        return (delivery.Ready(prepared.qr, prepared.observations, prepared.extracted,
                               flags=prepared.flags, safety=stored(prepared.findings)) if prepared else None)

    sent = delivery.send_answers(launch, entry.canonical, request.form.get("submission_id", ""),
                                 may_write=read_only_reason(launch) is None, prepare=ready, kind=KIND, label=entry.title,
                                 task_id=task.id if task else None, task_as_read=task.resource if task else None,
                                 shown=_receipt_facts(launch, entry),
                                 task_requester=entry.assignment.requester_display if entry.assignment else None)
    if sent.step is delivery.SendStep.FORBIDDEN:
        abort(403)
    if sent.step is delivery.SendStep.TASK_CLOSED:
        return redirect(url_for(".fill", handle=handle, key=key, closed=1), code=303)
    if sent.step is delivery.SendStep.RECEIPT:
        return redirect(url_for("submissions.receipt", handle=handle, submission_id=sent.submission_id), code=303)
    if sent.step is delivery.SendStep.REVIEW:
        return redirect(url_for(".review", handle=handle, key=key), code=303)
    return redirect(url_for(".fill", handle=handle, key=key), code=303)


def _task_of(entry: CatalogEntry) -> AssignedTask | None:
    """The Task a send completes (open), or the closed one that stops it; None for a form nobody assigned."""
    if entry.assignment is not None:
        return entry.assignment
    return entry.closed_assignment if entry.request_closed and entry.closed_assignment else None


def _receipt_facts(launch: Launch, entry: CatalogEntry) -> dict[str, Any]:
    """What the receipt says of the form (its page key; title, its translations and codes) and whose answers
    these are, as the sending page read them: kept with the submission, so the receipt reads nothing."""
    form = {name: entry.resource[name] for name in ("title", "_title", "code") if name in entry.resource}
    return {"key": entry.key, "form": form, "patient_name": whose(launch)["patient_name"]}


@bp.get("/questionnaires/<key>/responses/<response_id>")
def response(handle: str, key: str, response_id: str) -> str:
    """Reopen a completed response (read-only), with its score and band."""
    launch = current_launch(handle)
    entry = _entry_or_404(launch, key)
    found = completed_response(launch, entry, response_id)
    if found is None:
        abort(404)
    form = _form_or_400(entry)
    return render_template("questionnaires/response.html", launch=launch, entry=entry, completed=found,
                           answers=_answer_lines(form, found.resource), score=response_score(form, found.resource))


def _answer_lines(form: Form, resource: dict) -> list[tuple[str, list[str]]]:
    """(question text, answer texts) in document order, for plain display."""
    lines: list[tuple[str, list[str]]] = []

    def walk(items: list[dict]) -> None:
        """Depth-first over response items (depth bounded by the form's limits)."""
        for node in items:
            item = form.by_link_id.get(str(node.get("linkId")))
            label = (item.text if item else None) or node.get("text") or node.get("linkId")
            answers = [_answer_text(a) for a in node.get("answer") or []]
            if answers:
                lines.append((str(label), answers))
            walk(node.get("item") or [])
            for answer in node.get("answer") or []:
                walk(answer.get("item") or [])

    walk(resource.get("item") or [])
    return lines


def _answer_text(answer: dict) -> str:
    """One answer value as plain text."""
    for key, value in answer.items():
        if not key.startswith("value"):
            continue
        if isinstance(value, dict) and key == "valueCoding":
            return str(value.get("display") or value.get("code") or "")
        if isinstance(value, dict) and key == "valueQuantity":
            return i18n.quantity(value.get("value"), unit_words(value))
        if isinstance(value, dict) and key == "valueAttachment":
            return str(value.get("title") or _("attached file"))
        if isinstance(value, dict) and key == "valueReference":
            return str(value.get("display") or value.get("reference") or "")
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if key == "valueDate":
            return i18n.fhir_date(value)
        if key == "valueDateTime":
            return i18n.date_time(value) if isinstance(value, str) and "T" in value else i18n.fhir_date(value)
        if key in ("valueDecimal", "valueInteger"):
            return i18n.number(value)
        return str(value)
    return ""


# ------------------------------------------------------------------------------------------- home tasks


def due_task(launch: Launch) -> PreVisitTask | None:
    """Home entry: questionnaires still to do (straight to the one the EHR asked for)."""
    # Assigned forms lead the page in the visit panel; library forms only as launch.json offers them.
    # A patient's assigned forms lead the page in the visit panel; a clinician (no panel) finds them here.
    clinician = launch.context.user_kind == "clinician"
    due = [e for e in catalog(launch) if e.status == "due" and e.offered and (clinician or e.assignment is None)]
    if not due:
        return None
    first = next((e for e in due if e.requested), due[0] if len(due) == 1 else None)
    url = (url_for("questionnaires.fill", handle=launch.handle, key=first.key) if first
           else url_for("questionnaires.index", handle=launch.handle))
    kind = launch.context.user_kind
    return PreVisitTask(title=_("Questionnaires to fill in"),
                        description=", ".join(form_title(e.title, e.resource.get("code"), kind, e.resource) for e in due), url=url,
                        unavailable_reason=read_only_reason(launch), status=TaskStatus.TO_DO,
                        forms_left=len(due), seconds_left=sum(_seconds_left(e) for e in due))


def in_progress_task(launch: Launch) -> PreVisitTask | None:
    """Home entry: drafts to finish, and submissions still waiting to be sent."""
    started = [e for e in catalog(launch) if e.status in ("in-progress", "sending", "not-sent")]
    if not started:
        return None
    url = (url_for("questionnaires.fill", handle=launch.handle, key=started[0].key) if len(started) == 1
           else url_for("questionnaires.index", handle=launch.handle))
    kind = launch.context.user_kind
    drafts_left = [e for e in started if e.status == "in-progress"]
    return PreVisitTask(title=_("Questionnaires in progress"),
                        description=", ".join(form_title(e.title, e.resource.get("code"), kind, e.resource) for e in started), url=url,
                        status=TaskStatus.IN_PROGRESS, forms_left=len(drafts_left),
                        seconds_left=sum(_seconds_left(e) for e in drafts_left))


def _seconds_left(entry: CatalogEntry) -> int:
    """Roughly how long the rest of this form takes (its draft's answers are done); 0 when it cannot be built."""
    try:
        form = entry.form_or_raise()
    except QuestionnaireError:
        return 0
    return effort.seconds_left(form, entry.draft.state if entry.draft else None)


def completed_task(launch: Launch) -> PreVisitTask | None:
    """Home entry: completed questionnaires (clinicians see the latest scores there)."""
    done = [e for e in catalog(launch) if e.completed]
    if not done:
        return None
    clinical = launch.context.user_kind == "clinician" or safety.settings().patient_bands
    return PreVisitTask(title=_("Completed questionnaires"),
                        description="; ".join(_latest_summary(e, launch.context.user_kind, clinical) for e in done),
                        url=url_for("questionnaires.index", handle=launch.handle), status=TaskStatus.DONE)


def _latest_summary(entry: CatalogEntry, kind: str | None = "clinician", bands: bool = True) -> str:
    """'Title: score 18 of 27 (band), 2026-03-15' for the latest completed response (bands only when `bands`)."""
    latest = entry.latest
    parts = [form_title(entry.title, entry.resource.get("code"), kind, entry.resource)]
    if latest and latest.score and latest.score.total is not None:
        if latest.score.instrument:
            parts.append(_(": score %(total)s of %(maximum)s", total=latest.score.total, maximum=latest.score.instrument.maximum))
        else:
            parts.append(_(": score %(total)s", total=latest.score.total))
        if latest.score.band and bands:
            parts.append(f" ({_(latest.score.band)})")
    if latest and latest.authored:
        parts.append(f", {i18n.date(latest.authored)}")
    return "".join(parts)
