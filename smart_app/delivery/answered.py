"""What a person's answers to a questionnaire become: the QuestionnaireResponse bound to the launch, and,
for a valid draft, everything a send writes (Observations, extracted resources, safety Flags).

Who the response is about and who wrote it always come from the launch token, never from the form.
The form, its evaluation context and the draft come in; views only render what comes back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from smart_app import safety
from smart_app.audit import events as audit
from smart_app.delivery.drafts import Draft
from smart_app.delivery.submission import IDENTIFIER_SYSTEM
from smart_app.forms import (ExtractMeta, FillContext, FormState, FormView, ResponseMeta, evaluate, extract_observations,
                             to_questionnaire_response)
from smart_app.forms.model import Form
from smart_app.forms.resource_extraction import ExtractionResult, extract_resources
from smart_app.i18n import current_language

if TYPE_CHECKING:
    from smart_app.launch.session import Launch

Reference = dict[str, Any]


def now_iso() -> str:
    """The current instant as a FHIR dateTime in UTC."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def references(launch: "Launch") -> tuple[Reference, Reference | None, Reference | None, Reference | None]:
    """(subject, encounter, author, source) from the launch token only."""
    ctx = launch.context
    subject = {"reference": f"Patient/{ctx.patient_id}"}
    encounter = {"reference": f"Encounter/{ctx.encounter_id}"} if ctx.encounter_id else None
    author = {"reference": ctx.fhir_user.relative} if ctx.fhir_user else None
    # A caregiver is both author and source; a clinician answers on the patient's behalf.
    source = author if ctx.user_kind == "caregiver" else subject
    return subject, encounter, author, source


def questionnaire_response(launch: "Launch", form: Form, state: FormState, view: FormView, status: str,
                           submission_id: str, authored: str, canonical: str) -> dict[str, Any]:
    """The QuestionnaireResponse for this state, bound to the launch (disabled answers already gone).

    A form without a canonical `url` is cited by its literal reference on the EHR (`canonical`, the catalog's).
    """
    subject, encounter, author, source = references(launch)
    meta = ResponseMeta(subject=subject, encounter=encounter, author=author, source=source, authored=authored,
                        identifier={"system": IDENTIFIER_SYSTEM, "value": submission_id}, status=status,
                        questionnaire_reference=None if form.canonical else canonical,
                        language=current_language())
    return to_questionnaire_response(form, state, meta, view=view)


def _extract_meta(launch: "Launch", authored: str) -> ExtractMeta:
    """Subject, encounter, time and performer of what a response's extraction writes (from the token)."""
    subject, encounter, author, _ = references(launch)
    return ExtractMeta(subject=subject, encounter=encounter, effective=authored, performer=(author,) if author else ())


def observations(launch: "Launch", form: Form, qr: dict[str, Any], authored: str) -> list[dict[str, Any]]:
    """Observations extracted from the completed response (SDC observation-based extraction)."""
    return extract_observations(form, qr, _extract_meta(launch, authored))


def extracted(launch: "Launch", form: Form, qr: dict[str, Any], authored: str, submission_id: str) -> ExtractionResult:
    """Resources from SDC template- and definition-based extraction, bound to the launch."""
    result = extract_resources(form.questionnaire, qr, _extract_meta(launch, authored), seed=submission_id)
    if result.problems or result.skipped:
        # The form's owner needs to know; ids and counts only (never answers).
        audit.event("form.extraction_incomplete", handle=launch.handle, submission_id=submission_id,
                    problems=len(result.problems), not_extracted=",".join(sorted(set(result.skipped))) or None)
    return result


@dataclass(frozen=True)
class Prepared:
    """The completed response and Observations a valid draft would send."""

    form: Form
    view: FormView
    qr: dict[str, Any]
    observations: list[dict[str, Any]]
    extraction: ExtractionResult
    findings: list[safety.Finding]
    flags: list[dict[str, Any]]

    @property
    def extracted(self) -> list[dict[str, Any]]:
        """The extracted resources as the write-back layer takes them."""
        return [{"resource": e.resource, "key": e.key} for e in self.extraction.resources]


def prepare(launch: "Launch", form: Form, canonical: str, draft: Draft, context: FillContext) -> Prepared | None:
    """Evaluate the saved draft; None when it is not valid yet (back to the form)."""
    view = evaluate(form, draft.state, context)
    if not view.valid or draft.saved_at is None:
        return None
    authored = now_iso()
    qr = questionnaire_response(launch, form, draft.state, view, "completed", draft.submission_id, authored, canonical)
    findings = safety.evaluate(safety.settings().rules, form, qr, score=view.score)
    return Prepared(form, view, qr, observations(launch, form, qr, authored),
                    extracted(launch, form, qr, authored, draft.submission_id), findings,
                    safety.build_flags(findings, start=authored))
