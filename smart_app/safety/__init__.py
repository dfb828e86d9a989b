"""Critical-answer rules as data, evaluated purely; the deployment's settings are read once at startup.

`rules.py` (model + validating parser), `evaluate.py` (response -> findings), `flags.py`
(findings -> FHIR Flag), `settings.py` (launch.json's `safety` block, crisis contacts),
`trail.py` (the `safety.rule_fired` audit event). See docs/safety.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, cast

from flask import Flask, current_app

from .evaluate import Finding, Match, evaluate
from .flags import build_flags, flag_text, rule_id_of
from .rules import PatientMessage, Rule, RuleError, RuleSet, Severity
from .settings import CrisisContact, SafetySettings, load_safety, shipped_rules

EXTENSION = "smart_previsit_safety"


def init_app(app: Flask, registration: Mapping[str, Any], path: str) -> None:
    """Load and validate the safety settings once; a problem raises RuleError and stops startup."""
    base_dir = Path(path).resolve().parent if path and Path(path).exists() else Path.cwd()
    app.extensions[EXTENSION] = load_safety(registration, path, base_dir)
    app.jinja_env.globals["show_bands"] = show_bands


def show_bands(kind: str | None) -> bool:
    """Score bands are for clinicians; patients and caregivers see them only when the deployment says so."""
    return kind == "clinician" or settings().patient_bands


def settings() -> SafetySettings:
    """This app's safety settings (init_app ran in create_app)."""
    return cast(SafetySettings, current_app.extensions[EXTENSION])


def patient_topics(findings: list[Finding]) -> list[PatientMessage]:
    """The message topics to show the person answering, most urgent first, without repeats."""
    topics: list[PatientMessage] = []
    for finding in findings:
        topic = finding.rule.patient_message
        if topic is not PatientMessage.NONE and topic not in topics:
            topics.append(topic)
    return topics


__all__ = [
    "CrisisContact", "Finding", "Match", "PatientMessage", "Rule", "RuleError", "RuleSet", "SafetySettings",
    "Severity", "build_flags", "evaluate", "flag_text", "init_app", "load_safety", "patient_topics", "rule_id_of",
    "settings", "shipped_rules", "show_bands",
]
