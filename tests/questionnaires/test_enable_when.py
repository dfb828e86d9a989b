"""enableWhen: every operator on every answer type, any/all, chains and repeat instances."""
from __future__ import annotations

from decimal import Decimal

import pytest

from smart_app.forms import build_form
from smart_app.forms.enable_when import condition_holds
from smart_app.forms.model import EnableWhen

from .conftest import UCUM, coding, item, options, questionnaire, run

KG = {"value": Decimal("70"), "system": UCUM, "code": "kg", "unit": "kg"}

# (answer type, condition answer, given answers, {operator: expected})
TABLE = [
    ("Integer", 5, [("Integer", 5)], {"=": True, "!=": False, ">": False, "<": False, ">=": True, "<=": True}),
    ("Integer", 5, [("Integer", 7)], {"=": False, "!=": True, ">": True, "<": False, ">=": True, "<=": False}),
    ("Decimal", Decimal("37.5"), [("Decimal", Decimal("37.50"))], {"=": True, "!=": False, ">": False, ">=": True}),
    ("Decimal", Decimal("37.5"), [("Decimal", Decimal("38.1"))], {">": True, "<": False, "<=": False}),
    ("Decimal", 3, [("Integer", 2)], {"<": True, ">": False, "=": False}),
    ("String", "abc", [("String", "abc")], {"=": True, "!=": False, ">": False, ">=": True}),
    ("String", "abc", [("String", "abd")], {"=": False, "!=": True, ">": True, "<": False}),
    ("Date", "2024-03-01", [("Date", "2024-03-02")], {"=": False, ">": True, "<": False, ">=": True, "<=": False}),
    ("Date", "2024-03-01", [("Date", "2024-03-01")], {"=": True, "!=": False, ">=": True, "<=": True}),
    ("Date", "2024-03-01", [("Date", "2024-03")], {"=": False, ">": False, "<": False}),  # precisions differ
    ("DateTime", "2024-03-01T10:00:00+01:00", [("DateTime", "2024-03-01T09:00:00Z")], {"=": True, ">": False}),
    ("DateTime", "2024-03-01T10:00:00+01:00", [("DateTime", "2024-03-01T09:30:00Z")], {">": True, "<": False}),
    ("Time", "12:00:00", [("Time", "08:15:00")], {"<": True, ">": False, "=": False}),
    ("Boolean", True, [("Boolean", True)], {"=": True, "!=": False}),
    ("Boolean", True, [("Boolean", False)], {"=": False, "!=": True}),
    ("Coding", coding("a"), [("Coding", coding("a", "A display"))], {"=": True, "!=": False}),
    ("Coding", coding("a"), [("Coding", coding("a", system="http://other"))], {"=": False, "!=": True}),
    ("Coding", {"code": "a"}, [("Coding", coding("a", system="http://any"))], {"=": True}),  # no system: code only
    ("Coding", coding("a"), [("Coding", coding("b")), ("Coding", coding("a"))], {"=": True, "!=": False}),
    ("Quantity", KG, [("Quantity", {**KG, "value": Decimal("80")})], {">": True, "=": False}),
    ("Quantity", KG, [("Quantity", {**KG, "value": Decimal("80"), "code": "[lb_av]"})], {">": False, "<": False}),
    ("Reference", {"reference": "Practitioner/1"}, [("Reference", {"reference": "Practitioner/1"})], {"=": True}),
    ("Integer", 5, [], {"=": False, "!=": True, ">": False}),  # unanswered: only != holds
]


@pytest.mark.parametrize("answer_type, want, given, expected", TABLE)
def test_operator_table(answer_type, want, given, expected) -> None:
    for operator, result in expected.items():
        cond = EnableWhen("q", operator, answer_type, want)
        assert condition_holds(cond, given) is result, (operator, given)


@pytest.mark.parametrize("want, given, result", [(True, [("String", "x")], True), (True, [], False),
                                                 (False, [], True), (False, [("Integer", 0)], False)])
def test_exists(want, given, result) -> None:
    assert condition_holds(EnableWhen("q", "exists", "Boolean", want), given) is result


def _two_conditions(behavior: str) -> dict:
    return questionnaire(
        item("a", "boolean"), item("b", "integer"),
        item("target", "string", enableBehavior=behavior, enableWhen=[
            {"question": "a", "operator": "=", "answerBoolean": True},
            {"question": "b", "operator": ">=", "answerInteger": 10}]),
    )


@pytest.mark.parametrize("behavior, a, b, enabled", [
    ("any", "true", "1", True), ("any", "false", "10", True), ("any", "false", "9", False),
    ("all", "true", "10", True), ("all", "true", "9", False), ("all", "", "", False),
])
def test_enable_behavior(behavior, a, b, enabled) -> None:
    _, _, view = run(_two_conditions(behavior), {"q.a.r": a, "q.b.r": b})
    assert view.node("target").enabled is enabled


def test_chained_dependencies_hide_what_depends_on_a_hidden_item() -> None:
    q = questionnaire(
        item("smoker", "boolean"),
        item("per-day", "integer", enableWhen=[{"question": "smoker", "operator": "=", "answerBoolean": True}]),
        item("heavy", "string", enableWhen=[{"question": "per-day", "operator": ">", "answerInteger": 20}]),
    )
    _, _, on = run(q, {"q.smoker.r": "true", "q.per-day.r": "30", "q.heavy.r": "yes"})
    assert on.node("heavy").enabled
    _, _, off = run(q, {"q.smoker.r": "false", "q.per-day.r": "30", "q.heavy.r": "yes"})
    assert not off.node("per-day").enabled
    assert not off.node("heavy").enabled  # its question is disabled, so treated as unanswered
    assert [i["linkId"] for i in off.response_items] == ["smoker"]


def test_forward_reference_and_long_chain_resolve_without_recursion_errors() -> None:
    items = [item(f"i{n}", "boolean", enableWhen=[{"question": f"i{n + 1}", "operator": "exists", "answerBoolean": True}])
             for n in range(3000)] + [item("i3000", "boolean")]
    _, _, view = run(questionnaire(*items), {"q.i3000.r": "true", **{f"q.i{n}.r": "true" for n in range(3000)}})
    assert all(n.enabled for n in view.nodes)
    _, _, view = run(questionnaire(*items), {**{f"q.i{n}.r": "true" for n in range(3000)}})
    assert not view.node("i0").enabled and not view.node("i2999").enabled


def test_cycles_disable_instead_of_looping() -> None:
    q = questionnaire(
        item("a", "boolean", enableWhen=[{"question": "b", "operator": "exists", "answerBoolean": True}]),
        item("b", "boolean", enableWhen=[{"question": "a", "operator": "exists", "answerBoolean": True}]),
    )
    _, _, view = run(q, {"q.a.r": "true", "q.b.r": "true"})
    assert not (view.node("a").enabled and view.node("b").enabled)


def test_per_instance_evaluation_in_repeating_groups() -> None:
    q = questionnaire(item("med", "group", repeats=True, item=[
        item("taking", "boolean"),
        item("why-not", "string", enableWhen=[{"question": "taking", "operator": "=", "answerBoolean": False}]),
    ]))
    data = {"n.med.r": "3", "q.taking.0": "true", "q.why-not.0": "kept",
            "q.taking.1": "false", "q.why-not.1": "side effects", "q.taking.2": ""}
    _, _, view = run(q, data)
    assert [view.node("why-not", (i,)).enabled for i in range(3)] == [False, True, False]
    answers = [[c.get("linkId") for c in g["item"]] for g in view.response_items]
    assert answers == [["taking"], ["taking", "why-not"]]


def test_condition_outside_the_repeat_applies_to_every_instance() -> None:
    q = questionnaire(item("has-meds", "boolean"), item("med", "group", repeats=True, item=[
        item("name", "string", enableWhen=[{"question": "has-meds", "operator": "=", "answerBoolean": True}])]))
    _, _, view = run(q, {"q.has-meds.r": "true", "n.med.r": "2", "q.name.0": "a", "q.name.1": "b"})
    assert view.node("name", (0,)).enabled and view.node("name", (1,)).enabled


def test_coding_condition_on_a_choice_item() -> None:
    q = questionnaire(item("c", "choice", answerOption=options("yes", "no")),
                      item("t", "string", enableWhen=[{"question": "c", "operator": "=", "answerCoding": coding("yes")}]))
    _, _, view = run(q, {"q.c.r": "http://example.org/cs|yes"})
    assert view.node("t").enabled
    _, _, view = run(q, {"q.c.r": "http://example.org/cs|no"})
    assert not view.node("t").enabled


def test_enable_when_expression() -> None:
    from .conftest import sdc_expression
    q = questionnaire(item("age", "integer"), item("adult-only", "string", ext=[sdc_expression(
        "sdc-questionnaire-enableWhenExpression",
        "%resource.repeat(item).where(linkId='age').answer.value >= 18")]))
    assert run(q, {"q.age.r": "30"})[2].node("adult-only").enabled
    assert not run(q, {"q.age.r": "12"})[2].node("adult-only").enabled
    assert not run(q, {})[2].node("adult-only").enabled


def test_a_condition_on_an_unknown_question_leaves_the_item_always_shown_and_noted() -> None:
    form = build_form(questionnaire(item("a", "string", enableWhen=[{"question": "ghost", "operator": "exists", "answerBoolean": True}])))
    assert form.by_link_id["a"].enable_when == ()
    assert any(link_id == "a" and "does not exist" in note for link_id, note in form.notes)
