"""Validation that fits the field: units in bounds, lb checked against kg bounds, examples from the
field (entryFormat, unit, bounds), a letter O typed for a zero, and dates in a sensible range."""
from __future__ import annotations

import datetime as dt

import pytest

from smart_app.forms import FillContext, build_form
from smart_app.forms.validation import convert, example_value, is_birth_date

from .conftest import UCUM, item, questionnaire, run

KG = {"system": UCUM, "code": "kg", "display": "kg"}
LB = {"system": UCUM, "code": "[lb_av]", "display": "lb"}
MMHG = ("questionnaire-unit", "valueCoding", {"system": UCUM, "code": "mm[Hg]", "display": "mmHg"})
TODAY = dt.date(2026, 12, 3)
WEIGHT = item("w", "quantity", ext=[("questionnaire-unitOption", "valueCoding", KG),
                                    ("questionnaire-unitOption", "valueCoding", LB),
                                    ("minValue", "valueDecimal", 20), ("maxValue", "valueDecimal", 300)])
SYSTOLIC = item("x", "integer", ext=[MMHG, ("minValue", "valueInteger", 50), ("maxValue", "valueInteger", 260)])


def _errors(raw_item: dict, fields: dict) -> list[str]:
    """The messages of item "x" or "w" for these posted fields, with validation on a fixed day."""
    _, _, view = run(questionnaire(raw_item), fields, context=FillContext(today=TODAY))
    return view.node(raw_item["linkId"]).errors


def test_a_bound_says_its_unit() -> None:
    assert _errors(WEIGHT, {"q.w.r": "7000", "u.w.r": "http://unitsofmeasure.org|kg"}) == [
        "Enter a value between 20 and 300 kg."]


def test_pounds_are_checked_against_kilogram_bounds_and_the_message_says_both() -> None:
    assert _errors(WEIGHT, {"q.w.r": "160", "u.w.r": "http://unitsofmeasure.org|[lb_av]"}) == []  # 72.6 kg
    assert _errors(WEIGHT, {"q.w.r": "700", "u.w.r": "http://unitsofmeasure.org|[lb_av]"}) == [
        "Enter a value between 20 and 300 kg (44.1 to 661.4 lb)."]  # 317.5 kg


@pytest.mark.parametrize(("value", "source", "target", "expected"), [
    ("1", "[lb_av]", "kg", "0.45"), ("100", "kg", "[lb_av]", "220.46"), ("6", "[ft_i]", "cm", "182.88"),
    ("170", "cm", "[in_i]", "66.93"), ("1", "kg", "cm", None)])
def test_units_convert_within_their_dimension_only(value, source, target, expected) -> None:
    from decimal import Decimal
    found = convert(Decimal(value), source, target)
    assert (None if found is None else str(round(found, 2))) == expected


def test_a_blood_pressure_typed_with_a_letter_o_is_told_so_with_a_fitting_example() -> None:
    assert _errors(SYSTOLIC, {"q.x.r": "12O"}) == ["Use the number 0, not the letter O (for example 120)."]


def test_a_blood_pressure_that_is_not_a_number_gets_a_blood_pressure_example() -> None:
    [message] = _errors(SYSTOLIC, {"q.x.r": "high"})
    assert message == "Enter a whole number in mmHg, for example 120."
    assert "for example 3" not in message


@pytest.mark.parametrize(("raw_item", "example"), [
    (item("x", "integer", ext=[("entryFormat", "valueString", "nn")]), "nn"),
    (SYSTOLIC, "120"),
    (item("x", "integer", ext=[("minValue", "valueInteger", 10), ("maxValue", "valueInteger", 20)]), "15"),
    (item("x", "integer"), None),
])
def test_examples_come_from_entry_format_then_unit_then_bounds(raw_item, example) -> None:
    form = build_form(questionnaire(raw_item))
    assert example_value(form.by_link_id["x"]) == example


def test_a_number_field_without_anything_better_keeps_the_general_example() -> None:
    assert _errors(item("x", "integer"), {"q.x.r": "2.5"}) == ["Enter a whole number, for example 3."]


BIRTH = item("dob", "date", text="Your date of birth")


@pytest.mark.parametrize(("value", "messages"), [
    ("2099-01-01", ["A date of birth cannot be in the future."]),
    ("2026-12-04", ["A date of birth cannot be in the future."]),
    ("2026-12-03", []),
    ("1980-05-17", []),
    ("1890-01-01", ["Check the year: a date of birth should be after 1896."]),
])
def test_a_date_of_birth_is_never_in_the_future_nor_implausibly_old(value, messages) -> None:
    assert _errors(BIRTH, {"q.dob.r": value}) == messages


@pytest.mark.parametrize(("value", "messages"), [
    ("1899-12-31", ["Check the year: enter a date between 1900 and 2036."]),
    ("2037-01-01", ["Check the year: enter a date between 1900 and 2036."]),
    ("2026-01-15", []),
])
def test_other_dates_stay_in_a_sensible_range(value, messages) -> None:
    assert _errors(item("x", "date", text="When did it start?"), {"q.x.r": value}) == messages


def test_a_form_that_sets_its_own_date_bounds_is_not_second_guessed() -> None:
    raw = item("x", "date", ext=[("minValue", "valueDate", "1800-01-01")])
    assert _errors(raw, {"q.x.r": "1850-01-01"}) == []


@pytest.mark.parametrize(("raw_item", "birth"), [
    (item("x", "date", code=[{"system": "http://loinc.org", "code": "21112-8"}], text="When?"), True),
    (item("x", "date", definition="http://hl7.org/fhir/StructureDefinition/Patient#Patient.birthDate"), True),
    (item("birth-date", "date", text="Born on"), True),
    (item("x", "date", text="When did it start?"), False),
])
def test_a_date_of_birth_is_known_by_code_definition_or_words(raw_item, birth) -> None:
    assert is_birth_date(build_form(questionnaire(raw_item)).by_link_id["x" if raw_item["linkId"] == "x" else "birth-date"]) is birth


def test_the_bundled_intake_rejects_a_birth_date_in_2099() -> None:
    from smart_app.forms import LIBRARY_BASE, FormState, evaluate, find
    form = build_form(find(LIBRARY_BASE + "previsit-intake"))
    view = evaluate(form, FormState.from_post(form, {"q.birth-date.r": "2099-01-01"}), FillContext(today=TODAY))
    assert view.node("birth-date").errors == ["A date of birth cannot be in the future."]
