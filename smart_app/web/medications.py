"""Medication review pages: the review form (no-JS add, drafts), check-before-send, send, clinician view.

Each view parses the request, calls the reads / pure core / drafts / submission modules and
renders. Who the review is about and who wrote it always come from the launch token; the
app records what the patient reports and never changes orders.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from flask import Blueprint, Flask, abort, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from smart_app.audit import events as audit
from smart_app import delivery
from smart_app.delivery import drafts, submission
from smart_app.ehr.reads import ReadPlan
from smart_app.ehr.client import FhirError
from flask_babel import gettext as _, ngettext

from smart_app.i18n import current_language, say
from smart_app.launch.session import Launch, current_launch
from smart_app.medications.reads import (MedicationRead, MedicationsUnavailable, latest_review, latest_review_read, medication_plan,
                                        read_medications)
from smart_app.medications import progress
from smart_app.medications import (
    ADD_ACTION,
    STATUS_LABELS,
    STOP_REASON_LABELS,
    NotAMedicationReview,
    Review,
    ReviewMeta,
    added_block_count,
    adherence_observations,
    clinician_diff,
    parse_review,
    questionnaire_canonical,
    review_form_values,
    to_questionnaire_response,
)
from smart_app.forms import FormState
from smart_app.web.home import PreVisitTask, TaskStatus

def N_(text: str) -> str:
    """Mark text for the catalog; it is translated where it is shown."""
    return text


bp = Blueprint("medications", __name__, url_prefix="/l/<handle>/medications")
KIND = "medication-review"
LABEL = "Medication review"
NO_QR_WRITE = N_("This app can read your medicine list but was not allowed to save your answers to your health record, so you can look at the list here but not send a review.")
NO_READ = N_("This app was not given access to the medicine list.")
CLINICIAN_TASK = N_("What the patient reported about their medicines, beside the current list.")
ADD_COUNT = "add.count"
RESCUE_KEY = "medications"  # the rescue slot of the review form (drafts.rescue)
NOT_FIELDS = ("csrf_token", "action")


def init_app(app: Flask) -> None:
    """Register the blueprint (its home page task is listed in web/tasks.py)."""
    app.register_blueprint(bp)


def home_reads(launch: Launch) -> ReadPlan:
    """The task's EHR reads, run with the home page's others: the clinician's list and latest review; for
    a patient or carer, the latest review only when the app's own records cannot tell where theirs stands."""
    ctx = launch.context
    if not ctx.patient_id or not ctx.permissions.can_read("MedicationRequest"):
        return ReadPlan()
    if ctx.user_kind == "clinician":
        return medication_plan(ctx.patient_id, ctx.permissions, with_latest_review=True)
    if _status_on_file(launch) is None and ctx.permissions.can_read("QuestionnaireResponse"):
        return ReadPlan.of(latest_review_read(ctx.patient_id))
    return ReadPlan()


def medication_task(launch: Launch) -> PreVisitTask | None:
    """The home page entry: the review for patients and carers, the side-by-side view for clinicians."""
    ctx = launch.context
    if not ctx.patient_id:
        return None
    unavailable = None if ctx.permissions.can_read("MedicationRequest") else _(NO_READ)
    if ctx.user_kind == "clinician":
        return PreVisitTask(_("Medication review"), _clinician_summary(launch) if unavailable is None else _(CLINICIAN_TASK),
                            url_for("medications.clinician", handle=launch.handle), unavailable)
    return PreVisitTask(_("Review your medicines"),
                        _("Check the medicines on your list, say how you really take them, and add any that are missing."),
                        url_for("medications.review", handle=launch.handle), unavailable,
                        status=None if unavailable else _review_status(launch))


def _review_status(launch: Launch) -> TaskStatus:
    """Where this person's own review stands: from the app's store, else whether the EHR holds one."""
    on_file = _status_on_file(launch)
    if on_file is not None:
        return on_file
    return TaskStatus.DONE if _review_on_record(launch) else TaskStatus.TO_DO


def _status_on_file(launch: Launch) -> TaskStatus | None:
    """Where this person's review stands by the app's own store (read once per request); None when it cannot tell."""
    return launch.reads.built("medications.status-on-file", lambda: _store_status(launch))


def _store_status(launch: Launch) -> TaskStatus | None:
    """The review's status from this person's submissions and draft (no EHR read)."""
    found = delivery.progress(launch, questionnaire_canonical())
    if found is None:
        return None
    return TaskStatus.DONE if found is delivery.Progress.SENT else TaskStatus.IN_PROGRESS


def _review_on_record(launch: Launch) -> bool:
    """Whether the EHR holds a completed review for this patient (sent by someone else, elsewhere, or
    before this app's store knew it); False when it may not or cannot be read."""
    ctx = launch.context
    if not ctx.patient_id or not ctx.permissions.can_read("QuestionnaireResponse"):
        return False
    try:
        return latest_review(launch.reads, ctx.patient_id) is not None
    except FhirError:
        return False


def _clinician_summary(launch: Launch) -> str:
    """The differences of the latest review in one line, so the sidebar shows them on opening the chart."""
    try:
        read = _read(launch, with_latest_review=True)
        differences = clinician_diff(read.medications.current, read.latest_review)
    except (FhirError, MedicationsUnavailable, NotAMedicationReview):
        return _(CLINICIAN_TASK)  # the home page must never fail because of this summary
    if _review_unknown(launch, read):
        return _(CLINICIAN_TASK)
    if read.latest_review is None:
        return _("The patient has not sent a medication review yet.")
    if not differences:
        return _("The patient's latest review matches the current list.")
    parts = [f"{_(d.label)}: {d.medicine}" for d in differences]
    return ngettext("The patient reported %(num)d difference: %(list)s.", "The patient reported %(num)d differences: %(list)s.",
                    len(parts), list="; ".join(parts))


# ------------------------------------------------------------------------------------------- helpers


def _review_unknown(launch: Launch, read: MedicationRead) -> str | None:
    """Why we cannot tell whether the patient sent a review (so never claim they did not); else None."""
    if not launch.context.permissions.can_read("QuestionnaireResponse"):
        return N_("This app may not read patient-reported reviews, so none can be shown here.")
    if read.latest_review_failed:
        return N_("The latest patient-reported review could not be loaded right now.")
    return None


def read_only_reason(launch: Launch) -> str | None:
    """Why a review cannot be sent from this launch, said up front; None when it can."""
    perms = launch.context.permissions
    reason = perms.read_only_reason or (None if perms.can_write("QuestionnaireResponse") else NO_QR_WRITE)
    return _(reason) if reason else None


def _read(launch: Launch, *, with_latest_review: bool = False) -> MedicationRead:
    """The one wave of medication reads for this launch's patient."""
    ctx = launch.context
    if not ctx.patient_id:
        abort(404)
    return read_medications(launch.reads, ctx.patient_id, ctx.permissions, with_latest_review=with_latest_review)


def _to_state(values: Mapping[str, str]) -> FormState:
    """The review's flat field values in the shape drafts.py keeps (one raw value per field)."""
    return FormState(values={(name, ()): [value] for name, value in values.items()})


def _from_state(state: FormState) -> dict[str, str]:
    """Flat field values back from a stored draft."""
    return {name: str(raw[0]) for (name, _path), raw in state.values.items() if raw}


def _now_iso() -> str:
    """A FHIR dateTime in UTC with seconds."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(launch: Launch, authored: str) -> ReviewMeta:
    """Subject, author, source, encounter and performer, all from the launch token."""
    ctx = launch.context
    subject = f"Patient/{ctx.patient_id}"
    author = submission.author_reference(launch)
    # A clinician records what the patient says: the patient is the source of the answers.
    source = subject if ctx.user_kind == "clinician" or author is None else author
    return ReviewMeta(subject=subject, authored=authored, author=author, source=source,
                      encounter=f"Encounter/{ctx.encounter_id}" if ctx.encounter_id else None, performer=author,
                      language=current_language())


def _resources(launch: Launch, review: Review) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The QuestionnaireResponse and adherence Observations of a validated review."""
    meta = _meta(launch, _now_iso())
    return to_questionnaire_response(review, meta), adherence_observations(review, meta)


def _render_form(launch: Launch, read: MedicationRead, values: Mapping[str, str], *,
                 errors: Mapping[str, str] | None = None, added_count: int | None = None, status: int = 200) -> tuple[str, int]:
    """The review page with the form restored from `values`."""
    rows = read.medications.current
    page = render_template(
        "medications/review.html", launch=launch, rows=rows, past_rows=read.medications.past,
        reviewed=progress.reviewed_count(rows, values), duplicates=progress.possible_duplicates(rows, values),
        statements_read=read.statements_read, list_incomplete=read.list_incomplete, values=dict(values),
        errors=dict(errors or {}),
        added_count=added_count or added_block_count(values), read_only_reason=read_only_reason(launch),
        action_url=url_for(".save", handle=launch.handle), hints_url=url_for(".hints", handle=launch.handle),
        on_behalf=launch.context.user_kind == "clinician",
    )
    return page, status


def _unavailable(launch: Launch) -> tuple[str, int]:
    """The page for a launch that may not read the medication list."""
    return render_template("medications/unavailable.html", launch=launch, message=_(NO_READ)), 403


# --------------------------------------------------------------------------------------------- views


@bp.get("/")
def review(handle: str) -> tuple[str, int]:
    """The review form, restored from the draft of this person's review when there is one."""
    launch = current_launch(handle)
    try:
        read = _read(launch)
    except MedicationsUnavailable:
        return _unavailable(launch)
    # A save that a dead launch or a failing EHR interrupted is kept now in the app (a GET never
    # writes to the EHR; the next save mirrors it), then shown.
    shown = delivery.draft_to_show(launch, RESCUE_KEY, questionnaire_canonical(),
                                   lambda _draft, fields: _to_state(review_form_values(MultiDict(fields))), start=False)
    return _render_form(launch, read, _from_state(shown.draft.state) if shown.draft else {})


def _mirror(launch: Launch, parsed: Review) -> dict[str, Any] | None:
    """The in-progress response mirrored to the EHR, once there is anything to say."""
    return to_questionnaire_response(parsed, _meta(launch, _now_iso())) if parsed.reports or parsed.added else None


@bp.post("/")
def save(handle: str) -> Response | tuple[str, int]:
    """Keep the answers as a draft; "Add a medicine" shows one more block, otherwise validate and go on."""
    launch = current_launch(handle)
    if read_only_reason(launch):
        abort(403)
    # Kept before the first EHR request: if the launch dies or the EHR fails now, the review page restores them.
    delivery.hold(launch, RESCUE_KEY, [(k, v) for k, v in request.form.items(multi=True) if k not in NOT_FIELDS])
    try:
        read = _read(launch)
    except MedicationsUnavailable:
        return _unavailable(launch)
    action = request.form.get("action", "")
    values = review_form_values(request.form)
    if action == progress.ALL_AS_PRESCRIBED:
        values = progress.all_as_prescribed(read.medications.current, values)  # exceptions are changed after
    added_count = added_block_count(values, action)
    values[ADD_COUNT] = str(added_count)
    parsed, errors = parse_review(read.medications.current, values)
    saved = delivery.save_answers(launch, RESCUE_KEY, questionnaire_canonical(), lambda _draft: delivery.Answers(
        state=_to_state(values), in_progress=_mirror(launch, parsed),
        comparable=None if errors else to_questionnaire_response(parsed, _meta(launch, _now_iso()))))
    if saved.deferred:
        # The EHR may already hold the review sent earlier: it cannot change until that send is settled.
        # The check page says so and offers the retry.
        audit.event("medication_review.edit_deferred", handle=handle, submission_id=saved.draft.submission_id)
        return redirect(url_for(".confirm", handle=handle), code=303)
    if action in (ADD_ACTION, progress.ALL_AS_PRESCRIBED):
        return _render_form(launch, read, values, added_count=added_count)
    if errors:
        audit.event("medication_review.invalid", handle=handle, fields=len(errors))
        return _render_form(launch, read, values, errors=errors, status=422)
    return redirect(url_for(".confirm", handle=handle), code=303)


@bp.post("/hints")
def hints(handle: str) -> Response:
    """As a medicine to add is typed (JavaScript on): each added name's duplicate hints, in the page's
    words. The matching rule is medications.duplicates, as for a full save; nothing is saved here."""
    launch = current_launch(handle)
    try:
        read = _read(launch)  # the same one wave of reads as the page
    except MedicationsUnavailable:
        abort(403)
    values = review_form_values(request.form)
    found = progress.possible_duplicates(read.medications.current, values)
    return jsonify({"hints": {str(i): [say(m.hint) for m in found.get(i, [])] for i in range(added_block_count(values))}})


@bp.get("/check")
def confirm(handle: str) -> Response | str:
    """Review before sending: the answers in plain words and what will be written to the record."""
    launch = current_launch(handle)
    state = delivery.draft_to_review(launch, questionnaire_canonical(), RESCUE_KEY)
    if state is None:  # (a review already sent goes again only under a new id)
        return redirect(url_for(".review", handle=handle), code=303)
    draft = state.draft
    parsed = _checked_review(launch, draft, _("Some answers need checking before you send them."))
    if parsed is None:
        return redirect(url_for(".review", handle=handle), code=303)
    reason = read_only_reason(launch)
    written: list[str] = []
    skipped: list[str] = []
    if reason is None:
        qr, observations = _resources(launch, parsed)
        types, skipped = submission.planned_types(launch, questionnaire_response=qr, observations=observations)
        written = _written_lines(types)
    return render_template("medications/confirm.html", launch=launch, review=parsed, status_labels=STATUS_LABELS,
                           stop_reason_labels=STOP_REASON_LABELS,
                           read_only_reason=reason, written=written,
                           skipped=skipped, submission_id=draft.submission_id,
                           pending=state.pending, changes_waiting=state.changes_waiting)


def _checked_review(launch: Launch, draft: drafts.Draft, problem: str) -> Review | None:
    """The saved answers parsed against the current list; None (with `problem` flashed) when they need the form again."""
    try:
        read = _read(launch)
    except MedicationsUnavailable:
        abort(403)
    parsed, errors = parse_review(read.medications.current, _from_state(draft.state))
    if errors:
        flash(problem, "error")
        return None
    return parsed


def _written_lines(types: list[str]) -> list[str]:
    """Plain-language lines for the resource types a submission will write."""
    lines = []
    if "QuestionnaireResponse" in types:
        lines.append(_("Your medication review, with your answer for each medicine"))
    count = types.count("Observation")
    if count:
        lines.append(ngettext("%(num)d record of whether you take each medicine as prescribed",
                              "%(num)d records of whether you take each medicine as prescribed", count))
    if "Provenance" in types:
        lines.append(_("A note of who sent it, and when, using this app"))
    return lines


@bp.post("/send")
def send(handle: str) -> Response:
    """Send to my care team: one conditional write of the checked review, then the receipt."""
    launch = current_launch(handle)

    def ready(draft: drafts.Draft) -> delivery.Ready | None:
        """The checked review's resources; None sends the person back to the form."""
        parsed = _checked_review(launch, draft, _("Your medicine list changed, or some answers need checking. Please look again."))
        return delivery.Ready(*_resources(launch, parsed)) if parsed is not None else None

    sent = delivery.send_answers(launch, questionnaire_canonical(), request.form.get("submission_id", ""),
                                 may_write=read_only_reason(launch) is None, prepare=ready, kind=KIND, label=LABEL)
    if sent.step is delivery.SendStep.FORBIDDEN:
        abort(403)
    if sent.step is delivery.SendStep.RECEIPT:
        return redirect(url_for("submissions.receipt", handle=handle, submission_id=sent.submission_id), code=303)
    if sent.step is delivery.SendStep.REVIEW:
        return redirect(url_for(".confirm", handle=handle), code=303)
    return redirect(url_for(".review", handle=handle), code=303)


@bp.get("/clinician")
def clinician(handle: str) -> tuple[str, int] | str:
    """The latest patient-reported review beside the current list, differences highlighted."""
    launch = current_launch(handle)
    try:
        read = _read(launch, with_latest_review=True)
    except MedicationsUnavailable:
        return _unavailable(launch)
    try:
        differences = clinician_diff(read.medications.current, read.latest_review)
    except NotAMedicationReview:
        differences = []
    reviewed = read.latest_review is not None
    flagged = {d.row.key: d.label for d in differences if d.row is not None}
    return render_template("medications/clinician.html", launch=launch, differences=differences, reviewed=reviewed,
                           reviewed_at=(read.latest_review or {}).get("authored"), review_unknown=_review_unknown(launch, read),
                           current_rows=read.medications.current, past_rows=read.medications.past, flagged=flagged,
                           list_incomplete=read.list_incomplete)
