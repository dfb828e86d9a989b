"""The bundled Questionnaire library: versioned canonical resources shipped with the app.

Canonicals live under LIBRARY_BASE; each file's `url` + `version` identify it. Loaded from the
package on demand (no import-time I/O) and cached for the life of the process. The library is
immutable: `shared()` hands out the cached resources themselves (read-only by contract), while
`load_library()` and `find()` return copies for callers that want to modify them.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from typing import Any

from smart_app.ehr.fhirjson import loads

LIBRARY_BASE = "http://smart-previsit.example.org/fhir/Questionnaire/"


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Any], ...]:
    """Read and parse every bundled `*.json` once, in file-name order (decimals kept exact).

    Other areas ship their Questionnaires here too (e.g. medication-review.json).
    """
    folder = resources.files(__package__) / "library"
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))
    return tuple(loads(folder.joinpath(name).read_text(encoding="utf-8")) for name in names)


def shared() -> tuple[dict[str, Any], ...]:
    """All bundled Questionnaires as the process-wide cached objects: never modify them.

    Per-request code reads these instead of deep-copying the library on every page.
    """
    return _load()


def shared_find(canonical: str) -> dict[str, Any] | None:
    """The cached bundled Questionnaire for `url` or `url|version` (read-only); None when not bundled."""
    url, _, version = canonical.partition("|")
    for questionnaire in _load():
        if questionnaire.get("url") == url and (not version or questionnaire.get("version") == version):
            return questionnaire
    return None


def is_shared(questionnaire: object) -> bool:
    """True when this object is one of the cached library resources (so it can never change)."""
    return any(questionnaire is q for q in _load())


def load_library() -> list[dict[str, Any]]:
    """All bundled Questionnaires (copies the caller may modify)."""
    return copy.deepcopy(list(_load()))


def find(canonical: str) -> dict[str, Any] | None:
    """A bundled Questionnaire by canonical `url` or `url|version` (a copy); None when not bundled."""
    found = shared_find(canonical)
    return copy.deepcopy(found) if found is not None else None
