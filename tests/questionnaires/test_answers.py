"""Form input parses by the FHIR primitive grammars into exact, typed answers."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from smart_app.forms import build_form
from smart_app.forms.answers import (
    AnswerError, parse_answer, parse_date, parse_datetime, parse_decimal, parse_integer, parse_time,
)

from .conftest import UCUM, coding, item, options, questionnaire


@pytest.mark.parametrize("text, expected", [
    ("0", "0"), ("72.50", "72.50"), ("-0.001", "-0.001"), ("1e3", "1E+3"), (" 12.3 ", "12.3"),
    ("0.1", "0.1"), ("123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"),
])
def test_decimal_grammar_keeps_exact_digits(text: str, expected: str) -> None:
    value = parse_decimal(text)
    assert isinstance(value, Decimal)
    assert str(value) == expected


@pytest.mark.parametrize("text", ["", "1,5", "01", "1.", ".5", "+1", "1e", "NaN", "Infinity", "1 000", "0x10"])
def test_decimal_grammar_rejects(text: str) -> None:
    with pytest.raises(AnswerError, match="Enter a number"):
        parse_decimal(text)


@pytest.mark.parametrize("text, ok", [("42", True), ("-7", True), ("0", True), ("007", False), ("1.0", False),
                                      ("2147483647", True), ("abc", False)])
def test_integer_grammar(text: str, ok: bool) -> None:
    if ok:
        assert parse_integer(text) == int(text)
    else:
        with pytest.raises(AnswerError):
            parse_integer(text)


def test_integer_out_of_32_bit_range_is_refused() -> None:
    with pytest.raises(AnswerError, match="too large"):
        parse_integer("2147483648")


@pytest.mark.parametrize("text, expected", [("2024", "2024"), ("2024-02", "2024-02"), ("2024-02-29", "2024-02-29")])
def test_dates_at_every_fhir_precision(text: str, expected: str) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text, message", [
    ("2023-02-29", "does not exist"), ("2024-13-01", "YYYY-MM-DD"), ("31/12/2024", "YYYY-MM-DD"), ("0000", "YYYY-MM-DD"),
])
def test_bad_dates(text: str, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        parse_date(text)


@pytest.mark.parametrize("text, expected", [("14:30", "14:30:00"), ("09:05:07", "09:05:07"), ("23:59:59.5", "23:59:59.5")])
def test_times_become_fhir_time(text: str, expected: str) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "9:00", "12:60", "noon"])
def test_bad_times(text: str) -> None:
    with pytest.raises(AnswerError, match="HH:MM"):
        parse_time(text)


@pytest.mark.parametrize("text, zone, expected", [
    ("2024-07-01T09:30", "Europe/Paris", "2024-07-01T09:30:00+02:00"),
    ("2024-01-15T09:30", "Europe/Paris", "2024-01-15T09:30:00+01:00"),
    ("2024-01-15T09:30", "America/St_Johns", "2024-01-15T09:30:00-03:30"),
    ("2024-01-15T09:30:15", "UTC", "2024-01-15T09:30:15+00:00"),
    ("2024-01-15T09:30:00Z", "Europe/Paris", "2024-01-15T09:30:00Z"),
    ("2024-01-15T09:30:00-05:00", "Europe/Paris", "2024-01-15T09:30:00-05:00"),
    ("2024-01-15", "Europe/Paris", "2024-01-15"),
])
def test_datetimes_get_an_explicit_zone(text: str, zone: str, expected: str) -> None:
    assert parse_datetime(text, ZoneInfo(zone)) == expected


def _item(kind: str, **fields):
    return build_form(questionnaire(item("x", kind, **fields))).by_link_id["x"]


@pytest.mark.parametrize("kind, raw, expected", [
    ("boolean", "true", ("Boolean", True)),
    ("boolean", "false", ("Boolean", False)),
    ("decimal", "70.50", ("Decimal", Decimal("70.50"))),
    ("integer", "3", ("Integer", 3)),
    ("string", "  hello ", ("String", "hello")),
    ("text", "line 1\nline 2\n", ("String", "line 1\nline 2")),
    ("url", "https://example.org/a?b=c", ("Uri", "https://example.org/a?b=c")),
    ("time", "08:00", ("Time", "08:00:00")),
    ("reference", "Practitioner/abc-1", ("Reference", {"reference": "Practitioner/abc-1"})),
    ("decimal", "   ", None),
])
def test_parse_answer_by_item_type(kind: str, raw: str, expected) -> None:
    assert parse_answer(_item(kind), raw) == expected


@pytest.mark.parametrize("kind, raw, message", [
    ("boolean", "maybe", "Choose yes or no."),
    ("url", "javascript:alert(1)", "Enter a web address starting with https:// or http://."),
    ("reference", "not a reference", "Enter a reference such as Practitioner/123."),
    ("dateTime", "tomorrow", "Enter a date and time, for example 2024-03-31 14:30."),
])
def test_parse_answer_errors(kind: str, raw: str, message: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_answer(_item(kind), raw)
    assert str(caught.value) == message


def test_reference_restricted_to_allowed_types() -> None:
    ref = _item("reference", ext=[("questionnaire-referenceResource", "valueCode", "Practitioner")])
    with pytest.raises(AnswerError, match="one of: Practitioner"):
        parse_answer(ref, "Patient/1")


def test_choice_accepts_only_listed_options_and_maps_tokens_to_codings() -> None:
    choice = _item("choice", answerOption=options("a", "b"))
    assert parse_answer(choice, "http://example.org/cs|b") == ("Coding", coding("b", "B"))
    with pytest.raises(AnswerError, match="Choose one of the listed answers"):
        parse_answer(choice, "http://example.org/cs|zzz")


def test_open_choice_keeps_free_text_as_string() -> None:
    open_choice = _item("open-choice", answerOption=options("a"))
    assert parse_answer(open_choice, "Something else") == ("String", "Something else")


def test_quantity_takes_the_chosen_ucum_unit() -> None:
    weight = _item("quantity", ext=[
        ("questionnaire-unitOption", "valueCoding", {"system": UCUM, "code": "kg", "display": "kg"}),
        ("questionnaire-unitOption", "valueCoding", {"system": UCUM, "code": "[lb_av]", "display": "lb"}),
    ])
    assert parse_answer(weight, {"value": "154.3", "unit": f"{UCUM}|[lb_av]"}) == (
        "Quantity", {"value": Decimal("154.3"), "unit": "lb", "system": UCUM, "code": "[lb_av]"})
    with pytest.raises(AnswerError, match="Choose a unit"):
        parse_answer(weight, {"value": "70", "unit": "nonsense|x"})


def test_datetime_uses_the_callers_zone() -> None:
    when = _item("dateTime")
    assert parse_answer(when, "2024-07-01T08:00", ZoneInfo("Australia/Sydney")) == ("DateTime", "2024-07-01T08:00:00+10:00")
    assert parse_answer(when, "2024-07-01T08:00", dt.timezone.utc) == ("DateTime", "2024-07-01T08:00:00+00:00")


def test_textarea_line_breaks_count_once() -> None:
    from smart_app.forms.validation import validate_answers
    text = _item("text", maxLength=11)
    answer = parse_answer(text, "line one\r\nab\r\n")
    assert answer == ("String", "line one\nab")
    assert validate_answers(text, [answer]) == []
