"""Helpers for tests that fill real public forms from tests/forms_corpus/ (see MANIFEST-terminology.md)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smart_app.forms import build_form, field_name

CORPUS = Path(__file__).resolve().parent.parent / "forms_corpus"


def corpus_form(name: str) -> dict[str, Any]:
    """A corpus Questionnaire as published (a fresh copy each call)."""
    return json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))


def fields(questionnaire: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Form fields (first instance of every group) for {linkId: value or [values]}."""
    form = build_form(questionnaire)
    out: dict[str, Any] = {}
    for link_id, value in answers.items():
        item = form.by_link_id[link_id]
        out[field_name(link_id, (0,) * item.group_depth)] = value
    return out
