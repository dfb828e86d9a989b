"""PHQ-9 and GAD-7: codes, answer scores, totals (Python and FHIRPath agree), bands, skipped items."""
from __future__ import annotations

from decimal import Decimal

import pytest

from smart_app.forms import FormState, LIBRARY_BASE, band, build_form, evaluate, find
from smart_app.forms.scoring import GAD7, PHQ9

LOINC = "http://loinc.org"
SCORE_CODES = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]  # 0..3
PHQ9_ITEMS = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
GAD7_ITEMS = ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"]


def _fill(slug: str, key: str, points: list[int | None]):
    form = build_form(find(LIBRARY_BASE + slug))
    data = {f"q.{key}-q{i}.0": f"{LOINC}|{SCORE_CODES[p]}" for i, p in enumerate(points, start=1) if p is not None}
    view = evaluate(form, FormState.from_post(form, data))
    return form, view


@pytest.mark.parametrize("slug, key, panel, items, total_code", [
    ("phq-9", "phq9", "44249-1", PHQ9_ITEMS, "44261-6"),
    ("gad-7", "gad7", "69737-5", GAD7_ITEMS, "70274-6"),
])
def test_bundled_instruments_carry_loinc_codes_and_ordinals(slug, key, panel, items, total_code) -> None:
    form = build_form(find(LIBRARY_BASE + slug))
    assert form.code[0]["code"] == panel
    questions = [form.by_link_id[f"{key}-q{i}"] for i in range(1, len(items) + 1)]
    assert [q.code[0]["code"] for q in questions] == items
    for q in questions:
        assert [(o.value["code"], o.ordinal) for o in q.options] == [(c, Decimal(n)) for n, c in enumerate(SCORE_CODES)]
    assert form.by_link_id[f"{key}-total"].code[0]["code"] == total_code


@pytest.mark.parametrize("slug, key, points, total, label", [
    ("phq-9", "phq9", [0] * 9, 0, "None to minimal depression"),
    ("phq-9", "phq9", [3] * 9, 27, "Severe depression"),
    ("phq-9", "phq9", [1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "None to minimal depression"),
    ("phq-9", "phq9", [1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "Mild depression"),
    ("phq-9", "phq9", [3, 3, 3, 0, 0, 0, 0, 0, 0], 9, "Mild depression"),
    ("phq-9", "phq9", [3, 3, 3, 1, 0, 0, 0, 0, 0], 10, "Moderate depression"),
    ("phq-9", "phq9", [3, 3, 3, 3, 2, 0, 0, 0, 0], 14, "Moderate depression"),
    ("phq-9", "phq9", [3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "Moderately severe depression"),
    ("phq-9", "phq9", [3, 3, 3, 3, 3, 3, 1, 0, 0], 19, "Moderately severe depression"),
    ("phq-9", "phq9", [3, 3, 3, 3, 3, 3, 2, 0, 0], 20, "Severe depression"),
    ("gad-7", "gad7", [0] * 7, 0, "Minimal anxiety"),
    ("gad-7", "gad7", [3] * 7, 21, "Severe anxiety"),
    ("gad-7", "gad7", [2, 2, 0, 0, 0, 0, 0], 4, "Minimal anxiety"),
    ("gad-7", "gad7", [3, 2, 0, 0, 0, 0, 0], 5, "Mild anxiety"),
    ("gad-7", "gad7", [3, 3, 3, 0, 0, 0, 0], 9, "Mild anxiety"),
    ("gad-7", "gad7", [3, 3, 3, 1, 0, 0, 0], 10, "Moderate anxiety"),
    ("gad-7", "gad7", [3, 3, 3, 3, 2, 0, 0], 14, "Moderate anxiety"),
    ("gad-7", "gad7", [3, 3, 3, 3, 3, 0, 0], 15, "Severe anxiety"),
])
def test_totals_and_bands(slug, key, points, total, label) -> None:
    _, view = _fill(slug, key, points)
    assert view.score.total == total
    assert view.score.band == label
    assert view.score.complete
    # The Questionnaire's own calculatedExpression (FHIRPath) agrees with the ordinal sum.
    assert view.node(f"{key}-total").answers == [("Integer", total)]


def test_skipped_items_are_null_safe() -> None:
    _, view = _fill("phq-9", "phq9", [None] * 9)
    assert view.score.total is None and view.score.band is None and view.score.answered == 0
    assert view.node("phq9-total").answers == []
    _, view = _fill("phq-9", "phq9", [2, None, 3, None, None, None, None, None, None])
    assert view.score.total == 5 and not view.score.complete and view.score.band is None
    assert view.node("phq9-total").answers == [("Integer", 5)]
    assert {e.link_id for e in view.errors} == {f"phq9-q{i}" for i in (2, 4, 5, 6, 7, 8, 9)}


def test_difficulty_question_appears_only_when_a_problem_was_checked() -> None:
    _, view = _fill("phq-9", "phq9", [0] * 9)
    assert not view.node("phq9-difficulty").enabled
    _, view = _fill("phq-9", "phq9", [0] * 8 + [1])
    assert view.node("phq9-difficulty").enabled


@pytest.mark.parametrize("instrument, total, label", [
    (PHQ9, 0, "None to minimal depression"), (PHQ9, 27, "Severe depression"), (PHQ9, 28, None),
    (GAD7, 21, "Severe anxiety"), (GAD7, -1, None),
])
def test_band_edges(instrument, total, label) -> None:
    assert band(instrument, total) == label
