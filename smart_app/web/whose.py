"""Whose pages these are: the launch's Patient and Encounter, read once per request, for the header.

A caregiver and a clinician see the patient's name above a form or a receipt; the reads are
declared as a plan so a page runs them in its one wave (smart_app/ehr/reads.py).
"""
from __future__ import annotations

from typing import Any

from smart_app.ehr.reads import Read, ReadPlan
from smart_app.launch import banner
from smart_app.launch.session import Launch


def launch_plan(launch: Launch) -> ReadPlan:
    """The launch's Patient and Encounter (what may be read): the page header, prefill and expressions use them."""
    ctx = launch.context
    return ReadPlan.of(
        Read.resource("patient", "Patient", ctx.patient_id) if ctx.patient_id and ctx.permissions.can_read("Patient") else None,
        Read.resource("encounter", "Encounter", ctx.encounter_id)
        if ctx.encounter_id and ctx.permissions.can_read("Encounter") else None)


def launch_resource(launch: Launch, name: str) -> dict[str, Any] | None:
    """The launch's "patient" or "encounter" from this request's reads (read now if the page did not yet)."""
    found = launch.reads.fetch(launch_plan(launch)).value(name)
    return found if isinstance(found, dict) else None


def whose(launch: Launch) -> dict[str, Any]:
    """Whose form this is, for the page header (the caregiver sees the patient's name)."""
    kind = launch.context.user_kind
    name = None
    if kind in ("caregiver", "clinician"):
        patient = launch_resource(launch, "patient")
        name = banner.human_name(patient.get("name")) if patient is not None else None
    return {"kind": kind, "patient_name": name}
