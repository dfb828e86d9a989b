"""The bundled Questionnaire library: versioned canonical resources shipped with the app.

Canonicals live under LIBRARY_BASE; each file's `url` + `version` identify it. Loaded from the
package on demand (no import-time I/O) and cached; callers get deep copies.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources

from smart_app.fhirjson import loads

LIBRARY_BASE = "http://smart-previsit.example.org/fhir/Questionnaire/"


@lru_cache(maxsize=1)
def _load() -> tuple[dict, ...]:
    """Read and parse every bundled `*.json` once, in file-name order (decimals kept exact).

    Other areas ship their Questionnaires here too (e.g. medication-review.json).
    """
    folder = resources.files(__package__) / "library"
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))
    return tuple(loads(folder.joinpath(name).read_text(encoding="utf-8")) for name in names)


def load_library() -> list[dict]:
    """All bundled Questionnaires (copies the caller may modify)."""
    return copy.deepcopy(list(_load()))


def find(canonical: str) -> dict | None:
    """A bundled Questionnaire by canonical `url` or `url|version`; None when not bundled."""
    url, _, version = canonical.partition("|")
    for questionnaire in _load():
        if questionnaire.get("url") == url and (not version or questionnaire.get("version") == version):
            return copy.deepcopy(questionnaire)
    return None
