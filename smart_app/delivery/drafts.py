"""Drafts: what was typed into a questionnaire, kept so nothing is lost and a relaunch can resume.

The exact raw input (including invalid values) is always kept in the encrypted LaunchStore,
keyed by (iss, patient, user, questionnaire URL), not by launch handle, so a relaunch
for the same person and form finds it. When the granted scopes allow QuestionnaireResponse
writes, the draft is also mirrored to the EHR as an in-progress QuestionnaireResponse whose
identifier is the submission id; submitting later completes that same resource in place
(see submission.py), so the EHR ends up with one QuestionnaireResponse per submission.
A 409/412 on the mirror's update means the EHR copy changed elsewhere: we reload its version
and ask the user to check before saving again (their typed answers stay on the page). When
the re-read finds no copy at all (404/410), the EHR lost it: it is created again from the
answers kept here, and the person is told nothing was lost.

Mirroring is coalesced: every save is kept in the database at once, but a save made while the
person types (`coalesce=True`, the live form's pauses) goes to the EHR at most once per
DRAFT_MIRROR_INTERVAL seconds per draft (`mirror_due`, pure, on the injectable DRAFT_CLOCK). Every
other save (a section step, "Review my answers", leaving the page) mirrors whatever is newer.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from flask import current_app

from smart_app.audit import events as audit
from smart_app.delivery import submission
from smart_app.ehr.client import FhirError, FhirErrorCode
from smart_app.launch.runtime import runtime
from smart_app.delivery.outbox import OutboxState
from smart_app.forms import FormState
from smart_app.delivery.submission import IDENTIFIER_SYSTEM, SubmissionOutcome, person_key
from smart_app.ehr.tokens import token_query

if TYPE_CHECKING:
    from smart_app.launch.session import Launch

NAMESPACE = "draft"
RESCUE_NAMESPACE = "draft-rescue"
HELD_FORMS_NAMESPACE = "rescue-keys"  # per launch: the forms it holds rescued answers for


def _retention() -> int:
    """Seconds a draft (or a rescue copy) is kept after its last save: the DRAFT_RETENTION setting."""
    return int(current_app.config["DRAFT_RETENTION"])


def _now() -> float:
    """The app's clock for drafts (DRAFT_CLOCK, Unix seconds; tests inject one instead of waiting)."""
    clock: Callable[[], float] = current_app.config.get("DRAFT_CLOCK") or time.time
    return float(clock())


def mirror_due(mirrored_at: float | None, now: float, interval: float, *, coalesce: bool) -> bool:
    """Whether this save goes to the EHR now: always unless coalescing; coalesced, only when the draft was
    never mirrored or its last mirror is at least `interval` seconds old."""
    if not coalesce or mirrored_at is None:
        return True
    return now - mirrored_at >= interval


@dataclass(frozen=True)
class Draft:
    """One questionnaire in progress for one person: raw input, submission id and the EHR mirror."""

    canonical: str
    submission_id: str
    state: FormState = field(default_factory=FormState)
    saved_at: float | None = None  # None: minted on first render, nothing typed yet
    ehr_id: str | None = None
    ehr_version: str | None = None
    ehr_saved: bool = False  # the EHR copy matches the latest local save
    mirrored_at: float | None = None  # when the EHR copy was last written (coalescing the live form's saves)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the store."""
        return {"canonical": self.canonical, "submission_id": self.submission_id, "state": self.state.to_dict(),
                "saved_at": self.saved_at, "ehr_id": self.ehr_id, "ehr_version": self.ehr_version,
                "ehr_saved": self.ehr_saved, "mirrored_at": self.mirrored_at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Draft":
        """Parse a stored draft; raises ValueError when malformed."""
        try:
            return cls(canonical=str(data["canonical"]), submission_id=str(data["submission_id"]),
                       state=FormState.from_dict(data.get("state") or {}), saved_at=data.get("saved_at"),
                       ehr_id=data.get("ehr_id"), ehr_version=data.get("ehr_version"),
                       ehr_saved=bool(data.get("ehr_saved")), mirrored_at=_seconds(data.get("mirrored_at")))
        except (KeyError, TypeError) as exc:
            raise ValueError("malformed draft") from exc


def _seconds(value: Any) -> float | None:
    """A stored time in Unix seconds, or None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class SaveResult:
    """What a save did: the draft as now stored, where it lives, and whether the EHR copy conflicted."""

    draft: Draft
    on_ehr: bool
    conflict: bool = False
    ehr_error: FhirErrorCode | None = None
    recreated: bool = False  # the EHR had lost its copy; it was created again from the answers kept here
    held: bool = False  # kept here only for now: the EHR copy was written moments ago and is brought up to date later


def draft_key(launch: "Launch", canonical: str) -> str:
    """(iss, patient, person, questionnaire URL): the same person and form find the draft after relaunch.

    The person is the fhirUser, or this browser when there is none (submission.person_key), so
    two different people never share a draft. The key leaves out the form's version, so a draft
    begun before a new version of the form is still found (see load).
    """
    ctx = launch.context
    return f"{ctx.iss}|{ctx.patient_id}|{person_key(launch)}|{canonical.partition('|')[0]}"


def mirrors_to_ehr(launch: "Launch") -> bool:
    """Drafts go to the EHR only when QuestionnaireResponse may be read and written there."""
    perms = launch.context.permissions
    return perms.can_write("QuestionnaireResponse") and perms.can_read("QuestionnaireResponse")


def load(launch: "Launch", canonical: str) -> Draft | None:
    """The stored draft for this person and questionnaire, if any (carried over to `canonical`'s version)."""
    return _parse(runtime().store.get(NAMESPACE, draft_key(launch, canonical)), canonical)


def load_many(launch: "Launch", canonicals: Iterable[str]) -> dict[str, Draft | None]:
    """The stored drafts of several questionnaires for this person, in one store round trip."""
    wanted = list(dict.fromkeys(canonicals))
    found = runtime().store.get_many(NAMESPACE, [draft_key(launch, c) for c in wanted])
    return {canonical: _parse(data, canonical) for canonical, data in zip(wanted, found)}


def _parse(data: dict[str, Any] | None, canonical: str) -> Draft | None:
    """A stored draft for the form `canonical` names, or None when absent or malformed.

    A draft begun on another version of the same form keeps its answers and submission id and
    moves to this version: answers to items the new version still has are shown again (and
    validated against it), the rest are dropped when the form is evaluated. Losing everything
    typed because the form was updated overnight would be worse.
    """
    if data is None:
        return None
    try:
        draft = Draft.from_dict(data)
    except ValueError:
        return None
    return draft if draft.canonical == canonical else replace(draft, canonical=canonical)


def load_or_start(launch: "Launch", canonical: str) -> Draft:
    """The draft, or a new one with a freshly minted submission id (stored at once)."""
    draft = load(launch, canonical)
    if draft is None:
        draft = Draft(canonical=canonical, submission_id=uuid.uuid4().hex)
        _put(launch, draft)
        audit.event("draft.started", submission_id=draft.submission_id, handle=launch.handle)
    return draft


def _put(launch: "Launch", draft: Draft) -> None:
    """Write the draft to the store."""
    runtime().store.put(NAMESPACE, draft_key(launch, draft.canonical), draft.to_dict(), _retention())


def save(launch: "Launch", draft: Draft, state: FormState, in_progress: Mapping[str, Any] | None, *,
         coalesce: bool = False) -> SaveResult:
    """Keep the typed state locally first, then mirror the in-progress response to the EHR if allowed
    (`coalesce`: a save while typing, mirrored only when the last mirror is old enough, see `mirror_due`)."""
    now = _now()
    draft = replace(draft, state=state, saved_at=now, ehr_saved=False)
    _put(launch, draft)
    if in_progress is None or not mirrors_to_ehr(launch):
        audit.event("draft.saved", submission_id=draft.submission_id, handle=launch.handle, where="app")
        return SaveResult(draft, on_ehr=False)
    if not mirror_due(draft.mirrored_at, now, float(current_app.config["DRAFT_MIRROR_INTERVAL"]), coalesce=coalesce):
        audit.event("draft.saved", submission_id=draft.submission_id, handle=launch.handle, where="app", held=True)
        return SaveResult(draft, on_ehr=False, held=True)
    qr = {**in_progress, "status": "in-progress",
          "identifier": {"system": IDENTIFIER_SYSTEM, "value": draft.submission_id}}
    try:
        if draft.ehr_id is None:
            result = launch.fhir.create(qr, if_none_exist=token_query("identifier", IDENTIFIER_SYSTEM,
                                                                      draft.submission_id))
            if not result.created and result.id:
                # A draft of this submission already exists there (a lost response): update it now.
                result = launch.fhir.update({**qr, "id": result.id}, if_match=result.version_id)
        else:
            result = launch.fhir.update({**qr, "id": draft.ehr_id}, if_match=draft.ehr_version)
    except FhirError as error:
        if error.code in _CHANGED_OR_GONE and draft.ehr_id:
            if _copy_gone(launch, draft):
                audit.event("draft.recreated", submission_id=draft.submission_id, handle=launch.handle)
                lost = replace(draft, ehr_id=None, ehr_version=None)  # so the save below creates it again
                return replace(save(launch, lost, state, in_progress), recreated=True)
            draft = _reload_version(launch, draft)
            _put(launch, draft)
            audit.event("draft.conflict", submission_id=draft.submission_id, handle=launch.handle)
            return SaveResult(draft, on_ehr=False, conflict=True, ehr_error=error.code)
        audit.event("draft.saved", submission_id=draft.submission_id, handle=launch.handle, where="app",
                    ehr_error=error.code.value)
        return SaveResult(draft, on_ehr=False, ehr_error=error.code)
    draft = replace(draft, ehr_id=result.id or draft.ehr_id, ehr_version=result.version_id, ehr_saved=True,
                    mirrored_at=now)
    _put(launch, draft)
    audit.event("draft.saved", submission_id=draft.submission_id, handle=launch.handle, where="ehr",
                resource=f"QuestionnaireResponse/{draft.ehr_id}")
    return SaveResult(draft, on_ehr=True)


_CHANGED_OR_GONE = (FhirErrorCode.PRECONDITION_FAILED, FhirErrorCode.CONFLICT, FhirErrorCode.NOT_FOUND,
                    FhirErrorCode.GONE)


def _copy_gone(launch: "Launch", draft: Draft) -> bool:
    """True when re-reading the EHR copy says it no longer exists (404/410); other failures say nothing."""
    try:
        launch.fhir.read("QuestionnaireResponse", draft.ehr_id or "")
    except FhirError as error:
        return error.code in (FhirErrorCode.NOT_FOUND, FhirErrorCode.GONE)
    except ValueError:
        return False
    return False


def _reload_version(launch: "Launch", draft: Draft) -> Draft:
    """Re-read the EHR copy after a conflict so the next save is based on its current version."""
    try:
        current = launch.fhir.read("QuestionnaireResponse", draft.ehr_id or "")
    except FhirError:
        return draft
    return replace(draft, ehr_version=(current.get("meta") or {}).get("versionId"))


def continue_after(launch: "Launch", draft: Draft) -> Draft:
    """The draft to keep editing: a new submission id once its submission was sent or definitely refused.

    Only a sent or refused (4xx: nothing written) submission frees the answers for a new id; one
    pending or of unknown fate keeps its id, so a resend is deduplicated by its identifiers (see
    unresolved_submission). After a refusal the EHR's in-progress copy is reused (the next save
    re-labels it with the new id) so the corrected send completes that same response; after a
    sent submission the old copy is the completed response and is never touched again.
    """
    outcome = submission.receipt(launch, draft.submission_id)
    if outcome is None or not (outcome.state is OutboxState.SENT or outcome.rejected):
        return draft
    discard(launch, draft.canonical)
    fresh = load_or_start(launch, draft.canonical)
    keep_copy = outcome.rejected
    fresh = replace(fresh, state=draft.state, saved_at=draft.saved_at,
                    ehr_id=draft.ehr_id if keep_copy else None, ehr_version=draft.ehr_version if keep_copy else None)
    _put(launch, fresh)
    return fresh


def unresolved_submission(launch: "Launch", draft: Draft | None) -> SubmissionOutcome | None:
    """The draft's submission when it is sent-or-maybe-sent but not confirmed: its answers may not change now."""
    if draft is None:
        return None
    outcome = submission.receipt(launch, draft.submission_id)
    return outcome if outcome is not None and outcome.unresolved else None


def discard(launch: "Launch", canonical: str) -> None:
    """Forget the local draft (after its submission was sent)."""
    runtime().store.delete(NAMESPACE, draft_key(launch, canonical))


def forget_sent(launch: "Launch", outcome: SubmissionOutcome) -> None:
    """Once a submission is sent, its draft is done (unless it was saved since: those answers go next).

    Called wherever a send can finish: the receipt page's retries and the server-side courier.
    """
    if outcome.state is OutboxState.SENT and outcome.questionnaire:
        draft = load(launch, outcome.questionnaire)
        if draft and draft.submission_id == outcome.submission_id and (draft.saved_at or 0) <= outcome.created_at:
            discard(launch, outcome.questionnaire)


def _rescue_key(launch: "Launch", form_key: str) -> str:
    """Like draft_key, but by the page's questionnaire key, which is known before any EHR read."""
    ctx = launch.context
    return f"{ctx.iss}|{ctx.patient_id}|{person_key(launch)}|key:{form_key}"


def rescued(launch: "Launch", form_key: str) -> bool:
    """True when a posted form's raw fields are waiting to be restored."""
    return runtime().store.get(RESCUE_NAMESPACE, _rescue_key(launch, form_key)) is not None


def rescue(launch: "Launch", form_key: str, fields: list[tuple[str, str]]) -> None:
    """Keep a posted form's raw fields before any EHR request, so a launch that dies mid-save loses nothing."""
    runtime().store.put(RESCUE_NAMESPACE, _rescue_key(launch, form_key), {"fields": [list(f) for f in fields]}, _retention())


def note_held_form(launch: "Launch", form_key: str, limit: int) -> bool:
    """Count `form_key` among the forms this launch holds answers for; False when `limit` is reached."""
    store = runtime().store
    keys = set((store.get(HELD_FORMS_NAMESPACE, launch.handle) or {}).get("keys", []))
    if form_key in keys:
        return True
    if len(keys) >= limit:
        return False
    store.put(HELD_FORMS_NAMESPACE, launch.handle, {"keys": sorted(keys | {form_key})}, _retention())
    return True


def take_rescued(launch: "Launch", form_key: str) -> list[tuple[str, str]] | None:
    """The raw fields of a save that never finished (once), or None."""
    data = runtime().store.take(RESCUE_NAMESPACE, _rescue_key(launch, form_key))
    if not data:
        return None
    return [(str(name), str(value)) for name, value in data.get("fields") or []]


def forget_rescued(launch: "Launch", form_key: str) -> None:
    """The save finished: the rescue copy is no longer needed."""
    runtime().store.delete(RESCUE_NAMESPACE, _rescue_key(launch, form_key))
