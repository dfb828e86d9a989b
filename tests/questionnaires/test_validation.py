"""Server-side validation: each bad input gets its plain-language message, keyed by field."""
from __future__ import annotations

import pytest

from .conftest import UCUM, item, options, questionnaire, run

UNIT_KG = ("questionnaire-unit", "valueCoding", {"system": UCUM, "code": "kg", "display": "kg"})

CASES = [
    # (item, raw value, expected messages)
    (item("x", "string", required=True), "", ["This question needs an answer."]),
    (item("x", "string", required=True), "   ", ["This question needs an answer."]),
    (item("x", "string", maxLength=3), "abcd", ["Enter at most 3 characters."]),
    (item("x", "string", ext=[("minLength", "valueInteger", 3)]), "ab", ["Enter at least 3 characters."]),
    (item("x", "string", ext=[("regex", "valueString", "[0-9]{5}"), ("entryFormat", "valueString", "12345")]), "1234a",
     ["This answer is not in the expected format. Expected format: 12345."]),
    (item("x", "decimal", ext=[("minValue", "valueDecimal", 1.5)]), "1.4", ["Enter a value of at least 1.5."]),
    (item("x", "decimal", ext=[("maxValue", "valueDecimal", 300)]), "300.01", ["Enter a value of at most 300."]),
    (item("x", "integer", ext=[("minValue", "valueInteger", 0)]), "-1", ["Enter a value of at least 0."]),
    (item("x", "decimal", ext=[("maxDecimalPlaces", "valueInteger", 1)]), "70.25", ["Use at most 1 decimal place."]),
    (item("x", "decimal", ext=[("maxDecimalPlaces", "valueInteger", 2)]), "70.251", ["Use at most 2 decimal places."]),
    (item("x", "decimal", ext=[UNIT_KG]), "seventy", ["Enter a number in kg, for example 70."]),
    (item("x", "integer"), "2.5", ["Enter a whole number, for example 3."]),
    (item("x", "date", ext=[("minValue", "valueDate", "2000-01-01")]), "1999-12-31", ["Enter a date on or after 2000-01-01."]),
    (item("x", "date", ext=[("maxValue", "valueDate", "2030-01-01")]), "2031-05-05", ["Enter a date on or before 2030-01-01."]),
    (item("x", "date"), "2023-02-30", ["This date does not exist; check the day and month."]),
    (item("x", "time"), "25:00", ["Enter a time as HH:MM, for example 14:30."]),
    (item("x", "url"), "example.org", ["Enter a web address starting with https:// or http://."]),
    (item("x", "choice", answerOption=options("a")), "http://example.org/cs|b", ["Choose one of the listed answers."]),
    (item("x", "quantity", ext=[("questionnaire-unitOption", "valueCoding", {"system": UCUM, "code": "kg"}),
                                ("questionnaire-unitOption", "valueCoding", {"system": UCUM, "code": "g"}),
                                ("maxValue", "valueQuantity", {"value": 500, "system": UCUM, "code": "kg"})]),
     "600", ["Choose a unit."]),
]


@pytest.mark.parametrize("raw_item, value, messages", CASES)
def test_bad_input_gets_its_message(raw_item, value, messages) -> None:
    _, _, view = run(questionnaire(raw_item), {"q.x.r": value})
    assert view.node("x").errors == messages
    assert [(e.link_id, e.message) for e in view.errors] == [("x", m) for m in messages]
    assert not view.valid


@pytest.mark.parametrize("raw_item, value", [
    (item("x", "string", required=True), "ok"),
    (item("x", "string", maxLength=3), "abc"),
    (item("x", "decimal", ext=[("minValue", "valueDecimal", 1.5), ("maxDecimalPlaces", "valueInteger", 1)]), "1.5"),
    (item("x", "string", ext=[("regex", "valueString", "[0-9]{5}")]), "12345"),
    (item("x", "decimal"), ""),
    (item("x", "string", ext=[("regex", "valueString", "([unclosed")]), "anything"),  # invalid regex not enforced
])
def test_good_input_is_valid(raw_item, value) -> None:
    assert run(questionnaire(raw_item), {"q.x.r": value})[2].valid


def test_disabled_required_items_are_not_validated() -> None:
    q = questionnaire(item("gate", "boolean"),
                      item("x", "string", required=True, enableWhen=[{"question": "gate", "operator": "=", "answerBoolean": True}]))
    assert run(q, {"q.gate.r": "false"})[2].valid
    assert run(q, {"q.gate.r": "true"})[2].node("x").errors == ["This question needs an answer."]


def test_messages_are_per_repeat_instance() -> None:
    q = questionnaire(item("g", "group", repeats=True, item=[item("x", "integer", required=True)]))
    _, _, view = run(q, {"n.g.r": "3", "q.x.0": "1", "q.x.1": "", "q.x.2": "two"})
    assert [(e.path, e.message) for e in view.errors] == [
        ((1,), "This question needs an answer."), ((2,), "Enter a whole number, for example 3.")]
    assert len({e.id for e in view.errors}) == 2


def test_required_group_needs_one_answer() -> None:
    q = questionnaire(item("g", "group", required=True, item=[item("a", "string"), item("b", "string")]))
    assert run(q, {})[2].node("g", ()).errors == ["Answer at least one question in this section."]
    assert run(q, {"q.b.0": "x"})[2].valid


@pytest.mark.parametrize("count, messages", [(1, ["Add at least 2 entries."]), (2, []), (4, ["Add at most 3 entries."])])
def test_min_and_max_occurs_on_repeating_groups(count, messages) -> None:
    q = questionnaire(item("g", "group", repeats=True, item=[item("a", "string")],
                           ext=[("questionnaire-minOccurs", "valueInteger", 2), ("questionnaire-maxOccurs", "valueInteger", 3)]))
    assert run(q, {"n.g.r": str(count)})[2].node("g", ()).errors == messages


def test_min_and_max_occurs_on_repeating_answers() -> None:
    q = questionnaire(item("x", "string", repeats=True,
                           ext=[("questionnaire-minOccurs", "valueInteger", 2), ("questionnaire-maxOccurs", "valueInteger", 2)]))
    assert run(q, {"q.x.r": ["a"]})[2].node("x").errors == ["Give at least 2 answers."]
    assert run(q, {"q.x.r": ["a", "b", "c"]})[2].node("x").errors == ["Give at most 2 answers."]
    assert run(q, {"q.x.r": ["a", "b"]})[2].valid


def test_non_repeating_item_with_two_values_is_refused() -> None:
    assert run(questionnaire(item("x", "string")), {"q.x.r": ["a", "b"]})[2].node("x").errors == ["Give only one answer."]


def test_validate_false_shows_no_messages_on_a_first_render() -> None:
    _, _, view = run(questionnaire(item("x", "string", required=True)), {"q.x.r": ""}, validate=False)
    assert view.valid and view.node("x").errors == []


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w*)*x", r"(a|aa){2,}(b+)+", r"^(a|a)*$"])
def test_catastrophic_regexes_run_in_linear_time_and_are_enforced(pattern) -> None:
    # A backtracking engine needs ~2^5000 steps for this input: the test only finishes with RE2.
    view = run(questionnaire(item("x", "string", ext=[("regex", "valueString", pattern)])), {"q.x.r": "a" * 5000 + "!"})[2]
    assert not view.valid
    assert "not in the expected format" in " ".join(view.node("x").errors)


def test_a_regex_re2_cannot_express_is_not_enforced() -> None:
    view = run(questionnaire(item("x", "string", ext=[("regex", "valueString", r"(a)\1")])), {"q.x.r": "zz"})[2]
    assert view.valid
