"""The one path for a person's answers: save them, send them, restore what a failed save held back.

Both blueprints (questionnaires, the medication review) call these functions in place of the
sequence each used to spell out (rescue -> continue_after -> unresolved_submission ->
unsent_other_answers -> save -> forget_rescued -> submit -> refused/changed -> discard). Each
returns a small result the view turns into a redirect or a page; views hold no send-safety logic.
What differs between the forms (how posted fields become a FormState and a QuestionnaireResponse)
comes in as a function. GET handlers use `restore_rescued`, which never writes to the EHR.

The package holds the whole path: drafts, submission (outbox row, transaction, receipt), rows (the
outbox table), outbox (the pure state machine), writeback (pure builders) and the courier (the worker
that sends due rows). Dependencies run one way: web -> delivery -> (drafts, submission) -> store / ehr.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from smart_app.assignments.progress import mark_in_progress
from smart_app.audit import events as audit
from smart_app.delivery import drafts, submission
from smart_app.delivery.outbox import OutboxState
from smart_app.forms import FormState
from smart_app.forms.catalog import Standing

if TYPE_CHECKING:
    from smart_app.launch.session import Launch


@dataclass(frozen=True)
class Answers:
    """What the posted form says, built by the view's form code for the draft being continued.

    `in_progress` is the response mirrored to the EHR (None: keep it in the app only);
    `comparable` is the response compared with an unconfirmed earlier send (None: cannot tell yet,
    so the posted fields stay in the rescue slot).
    """

    state: FormState
    in_progress: Mapping[str, Any] | None
    comparable: Mapping[str, Any] | None


@dataclass(frozen=True)
class Saved:
    """What save_answers did: `deferred` when an earlier send is unconfirmed (answers held back)."""

    draft: drafts.Draft
    deferred: bool
    result: drafts.SaveResult | None = None
    holds_answers: bool = True  # False: nothing was answered (kept in the app only, never sent to the EHR)

    @property
    def conflict(self) -> bool:
        """The EHR copy changed elsewhere: the person is asked to check before saving again."""
        return bool(self.result and self.result.conflict)


class SendStep(enum.Enum):
    """Where a send ended, for the view to turn into a redirect."""

    RECEIPT = "receipt"  # show the receipt of `submission_id` (sent, pending, failed, or a re-POST of one sent)
    FORM = "form"  # nothing to send from here: back to the form
    REVIEW = "review"  # an earlier send with other answers is unconfirmed: show it, send nothing
    FORBIDDEN = "forbidden"  # this launch may not write
    TASK_CLOSED = "task-closed"  # the care team closed the request: nothing sent, the draft kept


@dataclass(frozen=True)
class Sent:
    """The result of send_answers."""

    step: SendStep
    submission_id: str | None = None


@dataclass(frozen=True)
class Ready:
    """A checked draft's completed response and Observations, ready to send."""

    questionnaire_response: Mapping[str, Any]
    observations: Sequence[Mapping[str, Any]]
    extracted: Sequence[Mapping[str, Any]] = ()  # SDC template/definition extraction
    flags: Sequence[Mapping[str, Any]] = ()  # safety Flags for the same transaction
    safety: Sequence[Mapping[str, str]] = ()  # the fired rules, kept with the submission for the audit trail


MAX_HELD_BYTES = 256 * 1024  # one post's raw answers kept for a relaunch
MAX_HELD_FORMS_PER_LAUNCH = 32  # distinct forms one launch may hold answers for


def hold(launch: "Launch", form_key: str, fields: Iterable[tuple[str, str]]) -> bool:
    """Keep the posted fields before any EHR request, so a launch that dies mid-save loses nothing.

    Call it only for a form that exists. Held answers are capped in size and in forms per launch,
    so a signed-in user cannot park large records (refusals are audited; False is returned).
    """
    fields = list(fields)
    if sum(len(k) + len(v) for k, v in fields) > MAX_HELD_BYTES:
        audit.event("answers.hold_refused", handle=launch.handle, reason="too_large")
        return False
    if not drafts.note_held_form(launch, form_key, MAX_HELD_FORMS_PER_LAUNCH):
        audit.event("answers.hold_refused", handle=launch.handle, reason="too_many")
        return False
    drafts.rescue(launch, form_key, fields)
    return True


def save_answers(launch: "Launch", form_key: str, canonical: str,
                 build: Callable[[drafts.Draft], Answers], task_id: str | None = None, *,
                 while_typing: bool = False) -> Saved:
    """Save the posted answers as the person's draft (after `hold`), unless an earlier send is unconfirmed.

    An unconfirmed send (the EHR may hold it) fixes its answers: changed ones wait in the rescue
    slot, and `deferred` tells the view to show that send instead. The first save of a form an
    open Task asked for (`task_id`) sets that Task in progress. A save `while_typing` (the live
    form's pauses) is kept in the database at once and mirrored to the EHR at most once per
    DRAFT_MIRROR_INTERVAL (drafts.mirror_due); every other save mirrors at once.
    """
    draft = drafts.continue_after(launch, drafts.load_or_start(launch, canonical))
    first = draft.saved_at is None or not any(draft.state.values.values())  # an empty live save is not a start
    answers = build(draft)
    if drafts.unresolved_submission(launch, draft):
        if answers.comparable is not None and \
                submission.unsent_other_answers(launch, draft.submission_id, answers.comparable) is None:
            drafts.forget_rescued(launch, form_key)
        return Saved(draft=draft, deferred=True)
    answered = answers.in_progress is None or holds_an_answer(answers.in_progress)
    # An empty draft goes to the EHR only to empty a copy already there; otherwise it stays in the app.
    mirror = answers.in_progress if answered or draft.ehr_id else None
    result = drafts.save(launch, draft, answers.state, mirror, coalesce=while_typing)
    drafts.forget_rescued(launch, form_key)
    if first and task_id and answered:  # nothing answered writes nothing to the EHR, the Task included
        mark_in_progress(launch, task_id)
    return Saved(draft=result.draft, deferred=False, result=result, holds_answers=answered)


def holds_an_answer(response: Mapping[str, Any]) -> bool:
    """True when a QuestionnaireResponse has at least one answer at any depth."""
    stack = list(response.get("item") or [])
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping):
            continue
        answers = node.get("answer") or []
        if answers:
            return True
        stack.extend(node.get("item") or [])
    return False


class Unread(enum.Enum):
    """Not read yet (as opposed to read and found to be nothing)."""

    UNREAD = "unread"


def restore_rescued(launch: "Launch", form_key: str, draft: drafts.Draft,
                    to_state: Callable[[drafts.Draft, list[tuple[str, str]]], FormState],
                    known: "submission.SubmissionOutcome | None | Unread" = Unread.UNREAD) -> drafts.Draft | None:
    """On a page view: answers a save never finished are kept in the app's draft (never sent to the EHR
    from a GET) and returned; None when there were none, or while an earlier send is unconfirmed.
    `known`: the draft's submission as this request already read it (None: it has none)."""
    unresolved = drafts.unresolved_submission(launch, draft) if known is Unread.UNREAD else (
        known if known is not None and known.submission_id == draft.submission_id and known.unresolved else None)
    if unresolved is not None:
        return None
    rescued = drafts.take_rescued(launch, form_key)
    if rescued is None:
        return None
    draft = drafts.continue_after(launch, draft)
    return drafts.save(launch, draft, to_state(draft, rescued), None).draft


@dataclass(frozen=True)
class Shown:
    """The draft a form page shows (None: nothing stored and nothing to restore), and whether a rescued save was restored."""

    draft: drafts.Draft | None
    rescued: bool = False


def draft_to_show(launch: "Launch", form_key: str, canonical: str,
                  to_state: Callable[[drafts.Draft, list[tuple[str, str]]], FormState], *,
                  found: drafts.Draft | None = None, start: bool = True) -> Shown:
    """On a page view: the person's draft (`found` when the page already read it; a new one when `start`),
    with the answers of a save a dead launch or a failing EHR held back kept into it first (restore_rescued).
    Without `start`, a draft is begun only to hold rescued answers."""
    if start:
        draft = found or drafts.load_or_start(launch, canonical)
    else:
        stored = found or drafts.load(launch, canonical)
        if not drafts.rescued(launch, form_key):
            return Shown(stored)
        draft = stored or drafts.load_or_start(launch, canonical)
    restored = restore_rescued(launch, form_key, draft, to_state)
    return Shown(restored or draft, rescued=restored is not None)


def send_answers(launch: "Launch", canonical: str, posted_id: str, *, may_write: bool,
                 prepare: Callable[[drafts.Draft], Ready | None], kind: str, label: str,
                 task_id: str | None = None, task_as_read: Mapping[str, Any] | None = None,
                 shown: Mapping[str, Any] | None = None, task_requester: str | None = None) -> Sent:
    """Send the person's checked draft once (idempotent per submission id) and say where to go next.

    `task_id`: the SDC Task that asked for the form. Cancelled or finished elsewhere, nothing is
    sent and the draft stays; otherwise the same transaction completes it. `task_as_read`: that Task
    as this request already read it, so the send does not read it again (submission.AsRead).
    `shown`: what the receipt says of the form and whose answers these are (kept with the submission).
    `task_requester`: who asked (the Task's requester display), for the receipt's "request is marked as done".
    """
    draft = drafts.load(launch, canonical)
    if draft is None or draft.submission_id != posted_id:
        # A browser re-POST after the draft was sent: show what happened to that submission.
        if posted_id and submission.receipt(launch, posted_id):
            return Sent(SendStep.RECEIPT, posted_id)
        return Sent(SendStep.FORM)
    if not may_write:
        return Sent(SendStep.FORBIDDEN)
    ready = prepare(draft)
    if ready is None:
        return Sent(SendStep.FORM)
    if task_id and submission.receipt(launch, draft.submission_id) is None:
        closed = submission.task_closed_elsewhere(launch, task_id, task_as_read)
        if closed is not None:
            audit.event("assignment.task_closed", handle=launch.handle, task=task_id, task_status=closed,
                        submission_id=draft.submission_id)
            return Sent(SendStep.TASK_CLOSED)
    try:
        outcome = submission.submit(launch, submission_id=draft.submission_id,
                                    questionnaire_response=ready.questionnaire_response,
                                    observations=list(ready.observations), kind=kind, label=label,
                                    questionnaire=canonical, complete_in_place=draft.ehr_id,
                                    extracted=ready.extracted, flags=ready.flags, safety=ready.safety,
                                    task_id=task_id, shown=shown, task_requester=task_requester,
                                    as_read=submission.AsRead(task=task_as_read, draft_version=_saved_version(draft)))
    except submission.SubmissionRefused:
        return Sent(SendStep.FORBIDDEN)
    except submission.SubmissionChanged:
        # Never send the stored answers in place of these, nor these beside them: show the pending send.
        return Sent(SendStep.REVIEW)
    if outcome.state is OutboxState.SENT:
        drafts.discard(launch, canonical)
    return Sent(SendStep.RECEIPT, outcome.submission_id)


def _saved_version(draft: drafts.Draft) -> str | None:
    """The version of the draft's EHR copy when our latest save wrote it (so it carries this submission's id)."""
    return draft.ehr_version if draft.ehr_saved and draft.ehr_id else None


def resend(launch: "Launch", submission_id: str, *, manual: bool) -> "submission.SubmissionOutcome | None":
    """The receipt page's retries: `manual` sends a pending or failed submission now, else only one whose
    wait is over. A submission now sent finishes its draft. None when there is no such submission."""
    outcome = submission.retry(launch, submission_id) if manual else submission.deliver_if_due(launch, submission_id)
    if outcome is not None:
        drafts.forget_sent(launch, outcome)
    return outcome


@dataclass(frozen=True)
class ReviewState:
    """The draft a review page shows, and whether an earlier send holds its answers."""

    draft: drafts.Draft
    pending: "submission.SubmissionOutcome | None"  # an unconfirmed earlier send: its answers cannot change now
    changes_waiting: bool  # answers posted since, held until that send is settled


def draft_to_review(launch: "Launch", canonical: str, form_key: str) -> ReviewState | None:
    """The person's draft for a review page (a draft whose answers were sent or refused continues under a
    new submission id), or None when there is none."""
    draft = drafts.load(launch, canonical)
    if draft is None:
        return None
    draft = drafts.continue_after(launch, draft)
    return ReviewState(draft, drafts.unresolved_submission(launch, draft), drafts.rescued(launch, form_key))


__all__ = ["Answers", "Ready", "ReviewState", "Saved", "Unread", "draft_to_review", "resend", "SendStep", "Sent", "hold", "holds_an_answer", "restore_rescued", "save_answers", "send_answers"]


def standing(launch: "Launch", canonicals: Sequence[str]) -> dict[str, Standing]:
    """Where each form stands for this person: its saved draft (all in one store round trip) and its newest
    submission unless that was sent (a failure later corrected and sent is no longer pending).

    The catalog (forms/catalog.py) shows this beside each form; create_app hands it this function.
    """
    found = drafts.load_many(launch, canonicals)
    known = submission.submissions(launch)  # newest first
    stands: dict[str, Standing] = {}
    for canonical, draft in found.items():
        newest = next((s for s in known if s.questionnaire == canonical), None)
        stands[canonical] = Standing(draft, newest if newest is not None and newest.state is not OutboxState.SENT else None)
    return stands


def failed_send(launch: "Launch", draft: drafts.Draft | None,
                known: "submission.SubmissionOutcome | None | Unread" = Unread.UNREAD) -> submission.SubmissionOutcome | None:
    """The draft's submission when it failed and needs the person (its field errors are shown beside the fields).

    `known` is the draft's submission as this request already read it, None when it has none (saves a store read).
    """
    if draft is None:
        return None
    if known is Unread.UNREAD or (known is not None and known.submission_id != draft.submission_id):
        known = submission.receipt(launch, draft.submission_id)
    return known if known and known.failed else None


class Progress(enum.Enum):
    """Where a person's answers to one form stand by the app's own store."""

    UNSENT = "unsent"  # sending, waiting to be sent again, or answers saved since the last send
    SENT = "sent"


def progress(launch: "Launch", canonical: str) -> Progress | None:
    """Where this person's answers to the form stand, from their submissions and draft (no EHR read); None when
    the store knows nothing. Any version of the form counts: answers sent before it gained an item were sent."""
    url = canonical.partition("|")[0]
    newest = next((s for s in submission.submissions(launch) if (s.questionnaire or "").partition("|")[0] == url), None)
    if newest is not None and newest.state is not OutboxState.SENT:
        return Progress.UNSENT
    draft = drafts.load(launch, canonical)
    if draft is not None and draft.saved_at is not None and (newest is None or draft.saved_at > newest.created_at):
        return Progress.UNSENT
    return Progress.SENT if newest is not None else None
