"""progress.py and names.ingredients: the review's count, the "all as prescribed" shortcut, duplicate hints (pure)."""
from __future__ import annotations

import pytest

from smart_app.medications.model import MedicationRow
from smart_app.medications.names import ingredients
from smart_app.medications.progress import all_as_prescribed, possible_duplicates, reviewed_count


def _row(key: str, name: str) -> MedicationRow:
    """A listed medicine with only what these rules read."""
    return MedicationRow(key=key, name=name, code=None, dosage="", sources=())


ROWS = [_row("a", "ibuprofen 200 MG Oral Tablet"), _row("b", "insulin glargine 100 UNT/ML Pen Injector [Lantus]"),
        _row("c", "lisinopril 10 MG / hydrochlorothiazide 12.5 MG Oral Tablet")]


@pytest.mark.parametrize(("name", "expected"), [
    ("ibuprofen 200 MG Oral Tablet", ("ibuprofen",)),
    ("metformin hydrochloride 500 MG Oral Tablet", ("metformin",)),
    ("lisinopril 10 MG / hydrochlorothiazide 12.5 MG Oral Tablet", ("lisinopril", "hydrochlorothiazide")),
    ("insulin glargine 100 UNT/ML Pen Injector [Lantus]", ("insulin glargine", "lantus")),
    ("Ibuprofen 400mg", ("ibuprofen",)),
    ("Vitamin D3", ("vitamin d3",)),
    ("1000 IU", ()),
    ("", ()),
])
def test_ingredients_are_read_from_the_name_and_never_invented(name, expected) -> None:
    assert ingredients(name) == expected


def test_the_count_is_the_medicines_with_an_answer() -> None:
    assert reviewed_count(ROWS, {"med.a.status": "taking", "med.b.status": "", "add.0.name": "x"}) == 1


def test_all_as_prescribed_answers_the_rest_and_keeps_the_exceptions() -> None:
    values = all_as_prescribed(ROWS, {"med.b.status": "not-taking", "med.b.why": "cost"})
    assert [values[f"med.{k}.status"] for k in "abc"] == ["taking", "not-taking", "taking"]
    assert values["med.b.why"] == "cost" and reviewed_count(ROWS, values) == 3


@pytest.mark.parametrize(("typed", "listed"), [
    ("Ibuprofen", ["a"]), ("ibuprofen 400 mg", ["a"]), ("Lantus", ["b"]), ("insulin glargine", ["b"]),
    ("Hydrochlorothiazide", ["c"]), ("Vitamin D3", []), ("insulin", []), ("Ibuprofenol", []), ("", []),
])
def test_an_added_medicine_naming_a_listed_ingredient_gets_a_hint(typed, listed) -> None:
    found = possible_duplicates(ROWS, {"add.0.name": typed})
    assert [match.row.key for match in found.get(0, [])] == listed
