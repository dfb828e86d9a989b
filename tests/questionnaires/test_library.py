"""The bundled library: versioned canonicals under our base, found by url or url|version."""
from __future__ import annotations

import pytest

from smart_app.forms import LIBRARY_BASE, build_form, find, load_library


def test_library_holds_the_required_questionnaires_with_versions() -> None:
    library = load_library()
    canonicals = {f"{q['url']}|{q['version']}" for q in library}
    for slug in ("phq-9", "gad-7", "previsit-intake"):
        assert f"{LIBRARY_BASE}{slug}|1.0.0" in canonicals
    for q in library:
        assert q["url"] == LIBRARY_BASE + q["id"] and q["status"] == "active"
        build_form(q)  # every bundled Questionnaire is usable


@pytest.mark.parametrize("canonical, found", [
    (LIBRARY_BASE + "phq-9", "phq-9"), (LIBRARY_BASE + "phq-9|1.0.0", "phq-9"),
    (LIBRARY_BASE + "phq-9|9.9.9", None), ("http://elsewhere.example/Questionnaire/phq-9", None),
])
def test_find_by_canonical(canonical, found) -> None:
    result = find(canonical)
    assert (result["id"] if result else None) == found


def test_callers_get_copies() -> None:
    find(LIBRARY_BASE + "gad-7")["title"] = "changed"
    load_library()[0]["url"] = "changed"
    assert find(LIBRARY_BASE + "gad-7")["title"] != "changed"
    assert all(q["url"] != "changed" for q in load_library())
