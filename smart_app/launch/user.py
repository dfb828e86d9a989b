"""Who signed in may act for the launch's patient: the patient themselves, or a caregiver linked to them.

Spec: scopes-and-launch-context.html#scopes-for-requesting-identity-data (fhirUser names the
person who signed in) and FHIR R4 RelatedPerson (`patient`, `active`, `period`). A token's
patient context alone does not say the person may see that record: a Patient signed in as
B with patient A, or a RelatedPerson not (or no longer) linked to A, is refused.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Mapping

from smart_app.audit import events as audit
from smart_app.context import FhirReference, LaunchContext
from smart_app.errors import LaunchError, LaunchErrorCode


def link_problem(user: FhirReference, patient_id: str, iss: str, related: Mapping[str, Any] | None,
                 today: date) -> str | None:
    """Why this user may not act for patient_id (a short reason), or None when they may.

    `related` is the RelatedPerson as read from the EHR (None when the user is not one or it
    could not be read).
    """
    if user.base is not None and user.base.rstrip("/") != iss.rstrip("/"):
        return "user on another server" if user.resource_type in ("Patient", "RelatedPerson") else None
    if user.resource_type == "Patient":
        return None if user.id == patient_id else "patient is not the user"
    if user.resource_type != "RelatedPerson":
        return None
    if related is None or related.get("resourceType") != "RelatedPerson" or related.get("id") != user.id:
        return "related person unreadable"
    if related.get("active") is False:
        return "related person inactive"
    reference = (related.get("patient") or {}).get("reference") if isinstance(related.get("patient"), Mapping) else None
    if reference not in (f"Patient/{patient_id}", f"{iss.rstrip('/')}/Patient/{patient_id}"):
        return "related person not linked"
    period = related.get("period")
    end, start = (period.get("end"), period.get("start")) if isinstance(period, Mapping) else (None, None)
    if isinstance(end, str) and end[:10] < today.isoformat():
        return "link ended"
    if isinstance(start, str) and start[:10] > today.isoformat():
        return "link not started"
    return None


def check_user_for_patient(context: LaunchContext, read: Callable[[str, str], Mapping[str, Any] | None],
                           today: date | None = None) -> None:
    """Refuse the launch (USER_NOT_FOR_PATIENT, audited) when its fhirUser may not act for its patient.

    `read(type, id)` returns the resource, or None when the EHR would not give it.
    """
    user, patient_id = context.fhir_user, context.patient_id
    if user is None or not patient_id:
        return
    related = None
    if user.resource_type == "RelatedPerson" and (user.base is None or user.base.rstrip("/") == context.iss.rstrip("/")):
        related = read("RelatedPerson", user.id)  # None (unreadable) refuses: a link is shown, never assumed
    problem = link_problem(user, patient_id, context.iss, related, today or date.today())
    if problem is None:
        return
    audit.event("callback.user_refused", iss=context.iss, client_id=context.client_id, reason=problem,
                fhir_user=user.relative, patient_id=patient_id)
    raise LaunchError(LaunchErrorCode.USER_NOT_FOR_PATIENT, problem, iss=context.iss)
