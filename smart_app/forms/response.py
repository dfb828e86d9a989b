"""Build the QuestionnaireResponse from an evaluated form (answers on disabled items removed)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .engine import FormView, evaluate
from .expressions import FillContext
from .model import Form
from .state import FormState

STATUSES = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})


@dataclass(frozen=True)
class ResponseMeta:
    """Who/when/where for a response; the caller fills these from the launch, never from the form.

    References are FHIR Reference dicts, e.g. {"reference": "Patient/123"}.
    """

    subject: dict[str, Any] | None = None
    encounter: dict[str, Any] | None = None
    author: dict[str, Any] | None = None
    source: dict[str, Any] | None = None
    authored: str | None = None  # FHIR dateTime with offset
    identifier: dict[str, Any] | None = None  # {"system": ..., "value": submission id}
    status: str = "completed"
    id: str | None = None
    # The Questionnaire's literal reference (its full URL on the EHR), cited when the form has no canonical url.
    questionnaire_reference: str | None = None
    # The language the person read and answered the form in (BCP-47, e.g. "es"): Resource.language.
    language: str | None = None


def to_questionnaire_response(
    form: Form,
    state: FormState,
    meta: ResponseMeta,
    context: FillContext | None = None,
    view: FormView | None = None,
) -> dict[str, Any]:
    """A QuestionnaireResponse for this state; pass `view` to reuse an evaluation already done."""
    if meta.status not in STATUSES:
        raise ValueError(f"unknown QuestionnaireResponse status {meta.status!r}")
    view = view or evaluate(form, state, context)
    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse"}
    if meta.id:
        resource["id"] = meta.id
    if meta.language:
        resource["language"] = meta.language
    if meta.identifier:
        resource["identifier"] = dict(meta.identifier)
    if form.canonical or meta.questionnaire_reference:
        resource["questionnaire"] = form.canonical or meta.questionnaire_reference
    resource["status"] = meta.status
    for key in ("subject", "encounter", "authored", "author", "source"):
        value = getattr(meta, key)
        if value:
            resource[key] = dict(value) if isinstance(value, dict) else value
    if view.response_items:
        resource["item"] = view.response_items
    return resource
