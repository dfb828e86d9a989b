"""Write-back orchestration: built resources + a launch -> one conditional bundle -> outbox -> EHR -> receipt.

Generic over what is sent (questionnaires, the medication review): the caller hands over a
QuestionnaireResponse and its Observations; this module binds them to the launch (subject,
encounter, author come from the token, never from the form), keeps the bundle in the
encrypted store until the EHR has it, sends it through FhirClient (retries, Retry-After and
the 401 refresh live there), and records sent / pending / failed. Every entry is a
conditional create, so a resend after a lost response or a double submit never duplicates.
A pending submission stays a pending row; the courier (courier.py) queries the due rows and sends them even if
nobody keeps the receipt page open. Audit events carry ids only.
"""
from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping, Sequence, TypeGuard

from flask import current_app, has_request_context

from smart_app.assignments import updates as task_updates
from smart_app.audit import events as audit
from smart_app.errors import LaunchError
from smart_app.ehr.client import FhirError, FhirErrorCode
from smart_app.delivery.outbox import OutboxItem, OutboxState, new_item, record_failure, record_sent, retry_now
from smart_app.safety import trail
from smart_app.browser import browser_anchor
from smart_app.delivery.rows import Claim, rows
from smart_app.delivery.writeback import Receipt, build_submission_bundle, filter_by_permissions, resource_types, send_submission
from smart_app.forms.field_errors import field_errors, general_messages
from smart_app.delivery.receipt_summary import SavedThing, saved_things

if TYPE_CHECKING:
    from smart_app.launch.session import Launch

IDENTIFIER_SYSTEM = "http://smart-previsit.example.org/fhir/sid/submission"
APP_DEVICE = {"resourceType": "Device", "deviceName": [{"name": "SMART Pre-Visit", "type": "user-friendly-name"}],
              "type": {"text": "SMART on FHIR application"}}
MAX_LISTED = 200  # the home page lists at most this many of a person's submissions

def N_(text: str) -> str:
    """Mark text for the catalog; the page translates it where it is shown (`_(outcome.reason)`)."""
    return text


# Plain words for the receipt page, one per FhirErrorCode the outbox can end on.
REASONS: dict[FhirErrorCode, str] = {
    FhirErrorCode.UNAUTHORIZED: N_("Your health record system no longer accepts this session. Start the app again, then send."),
    FhirErrorCode.FORBIDDEN: N_("Your health record system did not allow the app to save these answers."),
    FhirErrorCode.NOT_FOUND: N_("Your health record system could not find something the answers refer to."),
    FhirErrorCode.GONE: N_("Something the answers refer to was removed from your health record."),
    FhirErrorCode.CONFLICT: N_("Your health record changed while you were answering. Check your answers and send again."),
    FhirErrorCode.PRECONDITION_FAILED: N_("Your health record changed while you were answering. Check your answers and send again."),
    FhirErrorCode.INVALID: N_("Your health record system did not accept some answers. Check the marked answers and send again."),
    FhirErrorCode.RATE_LIMITED: N_("Your health record system is busy. The app will try again shortly."),
    FhirErrorCode.UNAVAILABLE: N_("Your health record system is not available right now. The app will try again shortly."),
    FhirErrorCode.SERVER_ERROR: N_("Your health record system had a problem. The app will try again shortly."),
    FhirErrorCode.NETWORK: N_("The app could not reach your health record system. It will try again shortly."),
    FhirErrorCode.BAD_RESPONSE: N_("Your health record system gave an answer the app could not understand."),
    FhirErrorCode.NOT_SUPPORTED: N_("Your health record system does not support saving these answers."),
}
NOT_PERMITTED = N_("This app was not given permission to save answers to your health record.")
TASK_CLOSED = N_("Your care team closed this request while you were answering, so your answers were not sent.")
TASK_CLOSED_NEXT = N_("You do not need to send them. If you still want your care team to see them, contact them.")


class TaskClosed(Exception):
    """The assigned Task was cancelled or finished elsewhere: nothing may be written against it."""

    def __init__(self, task_id: str, status: str) -> None:
        """Name the Task and the status found (ids and codes only)."""
        super().__init__(f"Task/{task_id} is {status}")
        self.task_id, self.status = task_id, status


@dataclass(frozen=True)
class AsRead:
    """What the sending request already knows of the EHR, so its first attempt reads nothing again.

    `task`: the assigned Task as this request's read wave returned it (its meta.versionId with it).
    `draft_version`: the version of the draft's EHR copy that our own last save created, when that
    save reached the EHR under this submission's identifier (None: read the copy first).
    Both only name the version an If-Match checks: when either is out of date the EHR refuses the
    whole transaction (nothing is written), and the attempt reads them again and decides as a retry
    does. Retries (the receipt page's, the courier's) always read.
    """

    task: Mapping[str, Any] | None = None
    draft_version: str | None = None


class SubmissionRefused(Exception):
    """Nothing may be written for this launch (no QuestionnaireResponse write scope)."""


class SubmissionChanged(Exception):
    """The answers differ from those already stored under this submission id.

    Sending would report the stored answers as "Sent" for these; and while the stored ones are
    unconfirmed, a new id could duplicate what the EHR may already hold. The caller shows the
    stored submission instead (and drafts.continue_after gives these a new id once it is settled).
    """

    def __init__(self, outcome: "SubmissionOutcome") -> None:
        """Carry the stored submission's outcome for the page that explains it."""
        super().__init__(outcome.submission_id)
        self.outcome = outcome


@dataclass(frozen=True)
class SubmissionOutcome:
    """Where a submission stands, for the receipt page and for callers that redirect to it."""

    submission_id: str
    kind: str
    label: str
    state: OutboxState
    receipt: Receipt | None
    planned_types: tuple[str, ...]
    skipped_types: tuple[str, ...]
    error: FhirErrorCode | None
    status: int | None
    attempts: int
    next_attempt_at: float | None
    created_at: float
    sent_at: float | None
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    messages: tuple[str, ...] = ()
    questionnaire: str | None = None
    safety: tuple[dict[str, str], ...] = ()  # the safety rules that fired: {"rule", "message"}
    task_closed: bool = False  # the assigned Task was cancelled or finished elsewhere: nothing was sent
    saved: tuple[SavedThing, ...] = ()  # what the submission writes, by meaning (receipt_summary.py)
    shown: Mapping[str, Any] | None = None  # what the receipt says of the form and whose it is, kept at send time

    @property
    def failed(self) -> bool:
        """Sending stopped: the person must act (change answers or retry)."""
        return self.state is OutboxState.FAILED

    @property
    def found_existing(self) -> bool:
        """True only when a retry found records an earlier try had already saved (nothing was saved twice)."""
        return (self.state is OutboxState.SENT and self.attempts > 1 and self.receipt is not None
                and any(not e.created for e in self.receipt.entries))

    @property
    def reason(self) -> str | None:
        """The last failure in plain words (None when sent or never tried)."""
        if self.state is OutboxState.SENT or self.error is None:
            return None
        if self.task_closed:
            return TASK_CLOSED
        return REASONS.get(self.error, N_("The answers could not be sent."))

    @property
    def advice(self) -> tuple[str, ...]:
        """What the person can do next, as catalog messages (said in the reader's language where
        shown; the record keeps only the `task_closed` flag, never the English)."""
        return (TASK_CLOSED_NEXT,) if self.task_closed and self.state is not OutboxState.SENT else ()

    @property
    def rejected(self) -> bool:
        """True when the EHR definitely refused it: a failed send answered 4xx (transactions are
        all-or-nothing, so nothing was written) and only a person can fix it; a new submission id is safe."""
        return self.state is OutboxState.FAILED and self.status is not None and 400 <= self.status < 500 \
            and self.error not in (FhirErrorCode.UNAUTHORIZED, FhirErrorCode.RATE_LIMITED)

    @property
    def unresolved(self) -> bool:
        """Not known to be sent and not known to be refused: the EHR may hold it, so it must be
        resent as stored (deduplicated by its identifiers), never replaced by other answers."""
        return self.state is not OutboxState.SENT and not self.rejected

    @property
    def due(self) -> bool:
        """A pending submission whose automatic retry time has come."""
        return self.state is OutboxState.PENDING and (self.next_attempt_at is None or self.next_attempt_at <= time.time())

    @property
    def retry_in(self) -> int | None:
        """Whole seconds until the automatic retry, for a pending submission."""
        if self.state is not OutboxState.PENDING or self.next_attempt_at is None:
            return None
        return max(0, int(round(self.next_attempt_at - time.time())))


def identifier_system() -> str:
    """The identifier system our submission ids live in (one per app)."""
    return IDENTIFIER_SYSTEM


def person_key(launch: "Launch") -> str:
    """Who is answering, for store keys: the fhirUser, or else this browser (never shared by two people).

    Without a fhirUser (no openid/fhirUser granted) two launches for the same patient may be
    different people, so their drafts and submissions are kept apart per browser; such a
    launch resumes only in the browser that started it. Hashed: the browser id is a session secret.
    """
    user = launch.context.fhir_user
    if user:
        return user.relative
    bid = launch.browser or (browser_anchor() if has_request_context() else None)
    anchor = f"browser:{bid}" if bid else f"launch:{launch.handle}"
    return "anon:" + hashlib.sha256(anchor.encode()).hexdigest()[:32]


def _person(launch: "Launch") -> str:
    """Server + patient + person: whose submissions these are (HMAC'd by the table; survives a relaunch)."""
    return f"{launch.context.iss}|{launch.context.patient_id}|{person_key(launch)}"


def _key(launch: "Launch", submission_id: str) -> str:
    """Row key: server + patient + person + submission, so no other patient or person can read it."""
    return rows().key(_person(launch), submission_id)


def _retention() -> float:
    """Seconds a submission row is kept after its last change (SUBMISSION_RETENTION)."""
    return float(current_app.config["SUBMISSION_RETENTION"])


def _now_iso(now: float) -> str:
    """A FHIR instant in UTC with seconds."""
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def author_reference(launch: "Launch") -> str | None:
    """The fhirUser as a relative reference (the token's identity, never form input)."""
    user = launch.context.fhir_user
    return user.relative if user else None


def _load(launch: "Launch", submission_id: str) -> dict[str, Any] | None:
    """The stored record of a submission for this launch's patient."""
    return rows().load(_key(launch, submission_id))


def _outcome(record: Mapping[str, Any]) -> SubmissionOutcome:
    """Turn a stored record into a SubmissionOutcome."""
    item = OutboxItem.from_dict(record["item"])
    return SubmissionOutcome(
        submission_id=item.submission_id, kind=record.get("kind", ""), label=record.get("label", ""),
        state=item.state, receipt=item.receipt, planned_types=tuple(resource_types(item.bundle)),
        skipped_types=item.skipped_types, error=item.last_error, status=item.last_status,
        attempts=item.attempts, next_attempt_at=item.next_attempt_at, created_at=item.created_at,
        sent_at=item.sent_at, field_errors={k: list(v) for k, v in (record.get("field_errors") or {}).items()},
        # The EHR's own words; records stored before `advice` also held its English, now said from the flag.
        messages=tuple(m for m in record.get("messages") or () if m != TASK_CLOSED_NEXT),
        questionnaire=record.get("questionnaire"),
        safety=tuple(dict(s) for s in record.get("safety") or ()),
        task_closed=bool(record.get("task_closed")),
        saved=tuple(saved_things(item.bundle)) + ((SavedThing("assignment", "Task", label=record.get("task_requester")),)
                                                  if record.get("task_completed") else ()),
        shown=record.get("shown") if isinstance(record.get("shown"), Mapping) else None,
    )


def prepare_bundle(launch: "Launch", *, submission_id: str, questionnaire_response: Mapping[str, Any],
                   observations: Sequence[Mapping[str, Any]], recorded: str,
                   extracted: Sequence[Mapping[str, Any]] = (),
                   flags: Sequence[Mapping[str, Any]] = ()) -> tuple[dict[str, Any], list[str]]:
    """The scope-filtered transaction for a submission, and the resource types left out.

    `extracted`: resources from SDC template/definition extraction ({"resource", "key"}).

    Raises SubmissionRefused when not even the QuestionnaireResponse may be written.
    """
    ctx = launch.context
    if not ctx.patient_id:
        raise SubmissionRefused(NOT_PERMITTED)
    if not ctx.permissions.can_write("QuestionnaireResponse"):
        raise SubmissionRefused(NOT_PERMITTED)
    bundle = build_submission_bundle(
        questionnaire_response=dict(questionnaire_response),
        observations=[dict(o) for o in observations],
        submission_id=submission_id,
        identifier_system=IDENTIFIER_SYSTEM,
        patient_ref=f"Patient/{ctx.patient_id}",
        encounter_ref=f"Encounter/{ctx.encounter_id}" if ctx.encounter_id else None,
        author_ref=author_reference(launch),
        app_device=APP_DEVICE,
        recorded=recorded,
        extracted=extracted,
        flags=[dict(f) for f in flags],
    )
    # Every entry is a create: an update-only grant (patient/Task.rus for assigned forms) cannot create.
    return filter_by_permissions(bundle, ctx.permissions.can_create)


def planned_types(launch: "Launch", *, questionnaire_response: Mapping[str, Any],
                  observations: Sequence[Mapping[str, Any]],
                  extracted: Sequence[Mapping[str, Any]] = (),
                  flags: Sequence[Mapping[str, Any]] = ()) -> tuple[list[str], list[str]]:
    """(types that will be written, types left out for lack of scope), for the review page."""
    identifier = questionnaire_response.get("identifier") or {}
    preview_id = identifier.get("value") if identifier.get("system") == IDENTIFIER_SYSTEM else None
    bundle, skipped = prepare_bundle(launch, submission_id=preview_id or "preview",
                                     questionnaire_response=questionnaire_response,
                                     observations=observations, recorded=_now_iso(time.time()),
                                     extracted=extracted, flags=flags)
    return resource_types(bundle), skipped


def submit(launch: "Launch", *, submission_id: str, questionnaire_response: Mapping[str, Any],
           observations: Sequence[Mapping[str, Any]], kind: str, label: str = "",
           questionnaire: str | None = None, complete_in_place: str | None = None,
           extracted: Sequence[Mapping[str, Any]] = (),
           flags: Sequence[Mapping[str, Any]] = (), safety: Sequence[Mapping[str, str]] = (),
           task_id: str | None = None, as_read: AsRead | None = None,
           shown: Mapping[str, Any] | None = None, task_requester: str | None = None) -> SubmissionOutcome:
    """Send one submission (idempotent per submission id): keep it, send it, record the outcome.

    A submission already sent is returned as it is; one pending or failed is resent with
    the bundle first stored, byte for byte. Different answers under a stored, unsent id raise
    SubmissionChanged instead of sending either version silently: answers edited after a
    failure need a new id (see drafts.continue_after).
    `complete_in_place` names an in-progress QuestionnaireResponse on the EHR (the draft
    mirror, same identifier) that the transaction updates to the completed answers.
    `flags` (safety Flags) go in the same transaction; `safety` ({"rule", "message"} per fired
    rule) is kept with the submission for the receipt and the audit trail.
    `task_id` names the SDC Task that asked for this form: each attempt re-reads it and completes
    it in the same transaction (see _with_task); the first attempt takes it, and the draft copy's
    version, from `as_read` instead (see AsRead). `task_requester` is who asked, for the receipt's words.
    `shown`: what the receipt page says about the form and whose answers these are, as the sending
    page knew it, kept with the submission so the receipt reads nothing from the EHR.
    """
    existing = _load(launch, submission_id)
    if existing is None:
        now = time.time()
        bundle, skipped = prepare_bundle(launch, submission_id=submission_id,
                                         questionnaire_response=questionnaire_response,
                                         observations=observations, recorded=_now_iso(now),
                                         extracted=extracted, flags=flags)
        item = new_item(submission_id, bundle, now=now, skipped_types=tuple(skipped))
        record = {"item": item.to_dict(), "kind": kind, "label": label, "questionnaire": questionnaire,
                  "handle": launch.handle, "complete_in_place": complete_in_place,
                  "safety": [dict(s) for s in safety], "task_id": task_id, "task_requester": task_requester}
        if shown is not None:
            record["shown"] = dict(shown)
        # Kept before the first byte goes out: nothing is lost on a crash.
        if rows().insert(_key(launch, submission_id), _person(launch), launch.handle, record, _retention()):
            audit.event("submission.queued", submission_id=submission_id, kind=kind, handle=launch.handle,
                        entries=len(bundle["entry"]), skipped=",".join(skipped) or None)
            return _deliver(launch, record, as_read)
        existing = _load(launch, submission_id)  # a double submit stored it a moment ago
        if existing is None:
            raise SubmissionRefused(NOT_PERMITTED)  # unreachable unless the row was purged in between
    if not same_answers(OutboxItem.from_dict(existing["item"]).bundle, questionnaire_response):
        audit.event("submission.changed", submission_id=submission_id, kind=kind, handle=launch.handle)
        raise SubmissionChanged(_outcome(existing))
    elif OutboxItem.from_dict(existing["item"]).state is OutboxState.SENT:
        audit.event("submission.duplicate", submission_id=submission_id, kind=kind, handle=launch.handle)
        return _outcome(existing)
    else:
        existing["item"] = retry_now(OutboxItem.from_dict(existing["item"]), now=time.time()).to_dict()
    return _deliver(launch, existing)


def _stored_response(bundle: Mapping[str, Any]) -> Mapping[str, Any]:
    """The QuestionnaireResponse of a stored bundle ({} when it has none)."""
    return next((e["resource"] for e in bundle.get("entry") or []
                 if e["resource"]["resourceType"] == "QuestionnaireResponse"), {})


def same_answers(bundle: Mapping[str, Any], questionnaire_response: Mapping[str, Any]) -> bool:
    """True when a stored bundle carries these answers (items only: times and ids differ on every build).

    The Observations are extracted from the items, so equal items mean an equal submission.
    """
    return _stored_response(bundle).get("item") == questionnaire_response.get("item")


def unsent_other_answers(launch: "Launch", submission_id: str,
                         questionnaire_response: Mapping[str, Any]) -> SubmissionOutcome | None:
    """The stored submission under this id when it is unresolved and holds other answers than these."""
    record = _load(launch, submission_id)
    if record is None:
        return None
    outcome = _outcome(record)
    if not outcome.unresolved or same_answers(OutboxItem.from_dict(record["item"]).bundle, questionnaire_response):
        return None
    return outcome


def retry(launch: "Launch", submission_id: str) -> SubmissionOutcome | None:
    """The user asked to send again: resend a pending or failed submission now."""
    record = _load(launch, submission_id)
    if record is None:
        return None
    item = OutboxItem.from_dict(record["item"])
    if item.state is OutboxState.SENT:
        return _outcome(record)
    record["item"] = retry_now(item, now=time.time()).to_dict()
    audit.event("submission.retry", submission_id=submission_id, handle=launch.handle, manual=True)
    return _deliver(launch, record)


def deliver_if_due(launch: "Launch", submission_id: str, *, now: float | None = None) -> SubmissionOutcome | None:
    """The automatic retry: resend a pending submission whose backoff has passed by `now`; else just report."""
    record = _load(launch, submission_id)
    if record is None:
        return None
    if OutboxItem.from_dict(record["item"]).is_due(time.time() if now is None else now):
        audit.event("submission.retry", submission_id=submission_id, handle=launch.handle, manual=False)
        return _deliver(launch, record)
    return _outcome(record)


def receipt(launch: "Launch", submission_id: str) -> SubmissionOutcome | None:
    """Where a submission stands, without sending anything."""
    record = _load(launch, submission_id)
    return _outcome(record) if record else None


def submissions(launch: "Launch") -> list[SubmissionOutcome]:
    """This patient's submissions known to this app, newest first (for task lists)."""
    return [_outcome(record) for record in rows().for_person(_person(launch), MAX_LISTED)]


def _deliver(launch: "Launch", record: dict[str, Any], as_read: AsRead | None = None) -> SubmissionOutcome:
    """Send the stored bundle once (one sender per submission, across instances) and store what happened."""
    item = OutboxItem.from_dict(record["item"])
    claim = rows().claim(_key(launch, item.submission_id), uuid.uuid4().hex)
    if claim is None:
        # Another request or the courier (any instance) is sending this very bundle right now.
        audit.event("submission.in_flight", submission_id=item.submission_id, handle=launch.handle)
        return _outcome(_load(launch, item.submission_id) or record)
    try:
        return _send_claimed(launch, record, item, claim, as_read)
    finally:
        claim.release()


def deliver_claimed(launch: "Launch", submission_id: str, claim: Claim, *, now: float) -> SubmissionOutcome | None:
    """The courier's send of a row it claimed as due by `now`: resend the stored bundle (or just report)."""
    record = _load(launch, submission_id)
    if record is None:
        return None
    item = OutboxItem.from_dict(record["item"])
    if not item.is_due(now):
        return _outcome(record)
    audit.event("submission.retry", submission_id=submission_id, handle=launch.handle, manual=False)
    return _send_claimed(launch, record, item, claim)


def _send_claimed(launch: "Launch", record: dict[str, Any], item: OutboxItem, claim: Claim,
                  as_read: AsRead | None = None) -> SubmissionOutcome:
    """Under the claim: re-read (another sender may have finished just before), then send once."""
    current = _load(launch, item.submission_id) or record
    if OutboxItem.from_dict(current["item"]).state is OutboxState.SENT:
        return _outcome(current)
    record = {**current, "item": record["item"]}
    return _send(launch, record, item, claim, as_read)


def _send(launch: "Launch", record: dict[str, Any], item: OutboxItem, claim: Claim,
          as_read: AsRead | None = None) -> SubmissionOutcome:
    """One delivery attempt; FhirError becomes pending/failed, a dead launch leaves it pending."""
    ids = {**launch.audit_ids(), "submission_id": item.submission_id, "kind": record.get("kind")}
    try:
        result = _transmit(launch, record, item, as_read)
    except TaskClosed as closed:
        # Nothing was written (the check comes before any write of this attempt); the person is told.
        error = FhirError(FhirErrorCode.CONFLICT, status=409, method="PUT", resource_type="Task")
        item = record_failure(item, error, now=time.time())
        record.update(item=item.to_dict(), field_errors={}, messages=[], task_closed=True)  # words come at display (advice)
        _save_outcome(launch, record, claim)
        audit.event("assignment.task_closed", task=closed.task_id, task_status=closed.status, **ids)
        return _outcome(record)
    except FhirError as error:
        item = record_failure(item, error, now=time.time())
        record.update(item=item.to_dict(), field_errors=field_errors(error, item.bundle),
                      messages=list(general_messages(error)))
        _save_outcome(launch, record, claim)
        audit.event("submission.failed" if item.state is OutboxState.FAILED else "submission.pending",
                    error_code=error.code.value, status=error.status, attempts=item.attempts, **ids)
        return _outcome(record)
    except LaunchError:
        # The token could not be renewed: the bundle stays stored and pending for the next launch.
        audit.event("submission.pending", error_code="LAUNCH_ENDED", attempts=item.attempts, **ids)
        raise
    if not result.complete:
        incomplete = FhirError(FhirErrorCode.BAD_RESPONSE, method="POST", resource_type="Bundle")
        item = record_failure(item, incomplete, now=time.time())
        record.update(item=item.to_dict())
        _save_outcome(launch, record, claim)
        audit.event("submission.failed" if item.state is OutboxState.FAILED else "submission.pending",
                    error_code=incomplete.code.value, attempts=item.attempts, **ids)
        return _outcome(record)
    item = record_sent(item, result, now=time.time())
    record.update(item=item.to_dict(), field_errors={}, messages=[])
    _save_outcome(launch, record, claim)
    audit.event("submission.sent", attempts=item.attempts,
                resources=",".join(f"{e.resource_type}/{e.id}" for e in result.entries), **ids)
    trail.rules_fired(record.get("safety") or (), item.bundle, result, **ids)
    return _outcome(record)


def _save_outcome(launch: "Launch", record: dict[str, Any], claim: Claim) -> None:
    """Store what a send did; the row is now delivered by this launch (the courier uses its tokens)."""
    record["handle"] = launch.handle
    if not rows().save(claim.key, launch.handle, record, claim.owner, _retention()):
        # The claim was lost (this process stalled past its renewals): another sender owns the row now.
        audit.event("submission.claim_lost", submission_id=record["item"]["submission_id"], handle=launch.handle)


# What a transaction answers when a version it was guarded by is no longer current (or the copy is gone).
_OUT_OF_DATE = (FhirErrorCode.PRECONDITION_FAILED, FhirErrorCode.CONFLICT, FhirErrorCode.NOT_FOUND, FhirErrorCode.GONE)


def _transmit(launch: "Launch", record: dict[str, Any], item: OutboxItem, as_read: AsRead | None = None) -> Receipt:
    """Send this attempt's bundle; a 412/409 on our own draft after our transaction committed is not a refusal.

    The versioned PUT makes the transaction replay-safe, but a replay after a lost answer meets
    the version our own commit created. Re-reading the draft tells the two apart: completed
    with our identifier means it committed, so the stored conditional bundle fetches the receipt.
    With `as_read` the attempt first sends on what the request already read (no round trip of its
    own); refused as out of date, nothing was written, and it carries on as below.
    """
    if as_read is not None:
        guessed = _with_task(launch, record, item, _with_completion(launch, record, item, as_read.draft_version),
                             as_read.task)
        try:
            return send_submission(launch.fhir, guessed)
        except FhirError as error:
            took = _is_task(as_read.task, record.get("task_id") or "") or bool(
                as_read.draft_version and record.get("complete_in_place"))
            if guessed is item.bundle or not took or error.code not in _OUT_OF_DATE:
                raise
            audit.event("submission.read_again", submission_id=item.submission_id, handle=launch.handle,
                        error_code=error.code.value)
    bundle = _with_task(launch, record, item, _with_completion(launch, record, item))
    try:
        return send_submission(launch.fhir, bundle)
    except FhirError as error:
        if bundle is item.bundle or error.code not in (FhirErrorCode.PRECONDITION_FAILED, FhirErrorCode.CONFLICT):
            raise
        if _with_completion(launch, record, item) is not item.bundle:
            raise  # the draft really changed elsewhere and is still in progress: nothing was written
        # The Task changed since it was read (or our commit completed it): read it again and decide
        # again, once; a Task still open gets the new version's If-Match, never a blind overwrite.
        return send_submission(launch.fhir, _with_task(launch, record, item, item.bundle))


def task_closed_elsewhere(launch: "Launch", task_id: str, as_read: Mapping[str, Any] | None = None) -> str | None:
    """Before a send: the status of the assigned Task when it was cancelled or finished elsewhere, else None.

    `as_read`: the Task as this request already read it (then it is not read again).
    A Task that cannot be read (or may not be) is not a reason to hold the answers back: the send
    goes ahead and leaves the Task alone (see _with_task).
    """
    if not launch.context.permissions.can_read("Task"):
        return None
    try:
        current = as_read if _is_task(as_read, task_id) else launch.fhir.read("Task", task_id)
    except FhirError:
        return None
    status = str(current.get("status"))
    if status not in task_updates.FINISHED_STATUSES or (status == "completed" and _completed_by_us(launch, current)):
        return None
    return status


def _completed_by_us(launch: "Launch", task: Mapping[str, Any]) -> bool:
    """A completed Task whose output is one of this person's submissions (a re-POST after our own send)."""
    for outcome in submissions(launch):
        if task_updates.completed_by(task, IDENTIFIER_SYSTEM, outcome.submission_id):
            return True
    return False


def _is_task(resource: Mapping[str, Any] | None, task_id: str) -> TypeGuard[Mapping[str, Any]]:
    """True when `resource` is Task `task_id` as read (its version with it)."""
    return isinstance(resource, Mapping) and resource.get("resourceType") == "Task" and resource.get("id") == task_id


def _with_task(launch: "Launch", record: dict[str, Any], item: OutboxItem, bundle: dict[str, Any],
               as_read: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The attempt's bundle with the assigned Task completed in it (a versioned PUT, last), when there is one.

    Re-reads the Task each attempt (the first takes `as_read`, the Task this request already read): completed with our submission's identifier means an earlier
    attempt committed (the bundle is sent without the update; its conditional creates match);
    finished any other way raises TaskClosed; unreadable or not writable leaves the Task alone
    (today's behaviour, audited). The output references the response by its fullUrl, which the
    transaction (or the sequential fallback) resolves to the server's id.
    """
    task_id = record.get("task_id")
    if not task_id:
        return bundle
    ids = {"submission_id": item.submission_id, "handle": launch.handle, "task": task_id}
    if not launch.context.permissions.can_update("Task"):
        audit.event("assignment.task_not_updated", reason="no Task write scope", **ids)
        return bundle
    try:
        current = as_read if _is_task(as_read, task_id) else launch.fhir.read("Task", task_id)
    except FhirError as error:
        if error.code in (FhirErrorCode.NOT_FOUND, FhirErrorCode.GONE, FhirErrorCode.FORBIDDEN):
            audit.event("assignment.task_not_updated", reason=error.code.value, **ids)
            return bundle
        raise
    if task_updates.completed_by(current, IDENTIFIER_SYSTEM, item.submission_id):
        record["task_completed"] = True  # an earlier attempt of this submission completed it
        return bundle
    if task_updates.closed_elsewhere(current, IDENTIFIER_SYSTEM, item.submission_id):
        raise TaskClosed(task_id, str(current.get("status")))
    entries = bundle.get("entry") or []
    qr = next((e for e in entries if e["resource"]["resourceType"] == "QuestionnaireResponse"), None)
    if qr is None:
        return bundle
    response_reference = qr["fullUrl"] if qr["request"]["method"] == "POST" else f"QuestionnaireResponse/{qr['resource']['id']}"
    body = task_updates.completed(current, response_reference=response_reference, identifier_system=IDENTIFIER_SYSTEM,
                                  submission_id=item.submission_id, when=_now_iso(time.time()))
    version = (current.get("meta") or {}).get("versionId")
    entry = task_updates.put_entry(body, version, f"{launch.context.iss.rstrip('/')}/Task/{task_id}")
    record["task_completed"] = True  # the receipt says the request is done (shown as waiting until it is sent)
    return {**bundle, "entry": [*entries, entry]}


def _with_completion(launch: "Launch", record: dict[str, Any], item: OutboxItem,
                     saved_version: str | None = None) -> dict[str, Any]:
    """The bundle for this attempt: the stored one, with the EHR's in-progress draft completed inside it.

    With a transaction, the draft is updated by a versioned PUT entry of the same transaction, so
    a refused send leaves the draft in progress (no stray "completed" response) and a committed one
    completes it exactly once. Each attempt re-reads the draft: once it shows completed with our
    identifier, our transaction committed (only it completes the draft) and the stored bundle's
    conditional creates match everything. Servers without transactions get the update first
    (their sequential creates are not atomic anyway).
    `saved_version` (a transaction only): the version our own last save gave the draft, which is then
    not read: the copy at that version is ours, in progress, for this subject, as that save wrote it.
    """
    draft_id = record.get("complete_in_place")
    entries = item.bundle.get("entry") or []
    index = next((i for i, e in enumerate(entries) if e["resource"]["resourceType"] == "QuestionnaireResponse"), None)
    if not draft_id or index is None:
        return item.bundle
    if saved_version and launch.fhir.supports_transaction():
        return _completing(item.bundle, index, draft_id, saved_version)
    try:
        current = launch.fhir.read("QuestionnaireResponse", draft_id)
    except FhirError as error:
        if error.code in (FhirErrorCode.NOT_FOUND, FhirErrorCode.GONE):
            return item.bundle  # nothing to complete: the conditional create makes it
        raise
    resource = entries[index]["resource"]
    ours = (current.get("identifier") or {}).get("value") == item.submission_id
    subject_ok = (current.get("subject") or {}).get("reference") == resource["subject"]["reference"]
    if not (ours and subject_ok) or current.get("status") == "completed":
        return item.bundle  # never overwrite a response that is not this draft; a completed one is ours
    version = (current.get("meta") or {}).get("versionId")
    if not launch.fhir.supports_transaction():
        launch.fhir.update({**resource, "id": draft_id}, if_match=version)
        return item.bundle
    return _completing(item.bundle, index, draft_id, version)


def _completing(bundle: dict[str, Any], index: int, draft_id: str, version: str | None) -> dict[str, Any]:
    """The bundle with its QuestionnaireResponse entry (at `index`) made a PUT of the draft copy, If-Match `version`."""
    entries = bundle.get("entry") or []
    request: dict[str, Any] = {"method": "PUT", "url": f"QuestionnaireResponse/{draft_id}"}
    if version:
        request["ifMatch"] = f'W/"{version}"'
    entry = {**entries[index], "resource": {**entries[index]["resource"], "id": draft_id}, "request": request}
    return {**bundle, "entry": [*entries[:index], entry, *entries[index + 1:]]}


__all__ = [
    "IDENTIFIER_SYSTEM", "AsRead", "SubmissionChanged", "SubmissionOutcome", "SubmissionRefused", "TaskClosed", "author_reference",
    "deliver_claimed", "deliver_if_due", "identifier_system", "person_key", "planned_types", "prepare_bundle",
    "receipt", "retry", "same_answers", "submissions", "submit", "task_closed_elsewhere", "unsent_other_answers",
]
