"""Bundled expansions of common HL7 value sets, for `answerValueSet`s a Questionnaire does not contain.

Resolution order (issue 13, scope 4): the EHR's own `ValueSet/$expand` (done at the I/O edge,
smart_app/forms/terminology.py, applied with `model.with_expansions`), then the expansions bundled
with the app for common HL7 value sets (valuesets/*.json, each naming its source in its
`description`), and only then free text. No HTTP here; the bundled files are read once per process.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


def canonical_url(canonical: str) -> str:
    """The url part of `url|version`."""
    return canonical.partition("|")[0]


@lru_cache(maxsize=1)
def _bundled() -> dict[str, dict[str, Any]]:
    """Bundled ValueSets by canonical url (read once; never modified)."""
    folder = resources.files(__package__) / "valuesets"
    found: dict[str, dict[str, Any]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            vs = json.loads(entry.read_text(encoding="utf-8"))
            found[vs["url"]] = vs
    return found


def bundled_value_set(canonical: str) -> dict[str, Any] | None:
    """The bundled ValueSet for `url` or `url|version` (any bundled version serves: the codes are stable)."""
    return _bundled().get(canonical_url(canonical))


def bundled_urls() -> frozenset[str]:
    """Canonical urls the app ships an expansion for."""
    return frozenset(_bundled())
