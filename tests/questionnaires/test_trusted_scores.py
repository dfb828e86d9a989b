"""A score a clinician relies on is computed by the app, shown read-only, and never taken from what was typed."""
from __future__ import annotations

from decimal import Decimal

import pytest

from smart_app.forms import ExtractMeta, ResponseMeta, build_form, extract_observations, to_questionnaire_response
from smart_app.forms.model import EXT

from .conftest import LOINC, item, questionnaire, run, sdc_expression

ORDINAL = EXT + "ordinalValue"
POINTS = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")


def on_option(code: str, points: int) -> dict:
    """An answerOption with ordinalValue on the option itself."""
    return {"valueCoding": {"system": LOINC, "code": code}, "extension": [{"url": ORDINAL, "valueDecimal": points}]}


def on_coding(code: str, points: int) -> dict:
    """An answerOption with ordinalValue on answerOption.valueCoding.extension (also legal)."""
    return {"valueCoding": {"system": LOINC, "code": code, "extension": [{"url": ORDINAL, "valueDecimal": points}]}}


def phq9(option=on_option, total: dict | None = None) -> dict:
    """A PHQ-9 whose total-score item (44261-6) is a free decimal field without an expression."""
    questions = [item(f"q{n}", "choice", answerOption=[option(c, p) for p, c in enumerate(POINTS)]) for n in range(1, 10)]
    total = total or item("total", "decimal", code=[{"system": LOINC, "code": "44261-6"}])
    return questionnaire(*questions, total, code=[{"system": LOINC, "code": "44249-1"}])


def answers(points: list[int]) -> dict[str, str]:
    """Form fields answering q1..q9 with these points."""
    return {f"q.q{n}.r": f"{LOINC}|{POINTS[p]}" for n, p in enumerate(points, start=1)}


def written(q: dict, data: dict[str, str]):
    """(view, QuestionnaireResponse, Observations) for this POST."""
    form, state, view = run(q, data)
    qr = to_questionnaire_response(form, state, ResponseMeta(subject={"reference": "Patient/p"}), view=view)
    return view, qr, extract_observations(form, qr, ExtractMeta(subject={"reference": "Patient/p"}))


def total_answer(qr: dict) -> list[dict]:
    """The total item's answers in a response."""
    return next((i["answer"] for i in qr.get("item", []) if i["linkId"] == "total"), [])


@pytest.mark.parametrize("option", [on_option, on_coding])
def test_a_total_item_without_an_expression_is_computed_from_ordinals_wherever_they_sit(option) -> None:
    view, qr, observations = written(phq9(option), answers([1, 2, 0, 3, 1, 0, 2, 1, 0]))
    assert view.node("total").calculated  # rendered read-only
    assert total_answer(qr) == [{"valueDecimal": Decimal(10)}]
    [obs] = observations
    assert obs["valueQuantity"]["value"] == 10 and obs["interpretation"] == [{"text": "Moderate depression"}]
    assert view.score.total == 10 and view.score.band == "Moderate depression"


def test_a_typed_total_that_contradicts_the_computed_score_is_never_written() -> None:
    data = {**answers([0, 0, 0, 0, 0, 0, 0, 0, 1]), "q.total.r": "72.5"}
    view, qr, observations = written(phq9(), data)
    assert total_answer(qr) == [{"valueDecimal": Decimal(1)}]
    assert [o["valueQuantity"]["value"] for o in observations] == [1]
    assert "72.5" not in str(qr)


def test_nothing_answered_writes_no_total_at_all() -> None:
    view, qr, observations = written(phq9(), {"q.total.r": "5"})
    assert total_answer(qr) == [] and observations == []


def test_a_total_the_app_cannot_compute_is_range_checked_and_never_becomes_an_observation() -> None:
    q = questionnaire(item("total", "decimal", code=[{"system": LOINC, "code": "75626-2"}]),
                      code=[{"system": LOINC, "code": "72109-2"}])
    form, state, view = run(q, {"q.total.r": "13"})
    assert view.node("total").errors == ["Enter a whole number from 0 to 12 (the AUDIT-C score range)."]
    view, qr, observations = written(q, {"q.total.r": "7"})
    assert view.valid and total_answer(qr) == [{"valueDecimal": Decimal(7)}]
    assert observations == []  # typed, so not a result anyone may rely on


def test_a_response_whose_total_disagrees_with_its_answers_is_not_extracted() -> None:
    form = build_form(phq9())
    tampered = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [
        {"linkId": "q1", "answer": [{"valueCoding": {"system": LOINC, "code": POINTS[3]}}]},
        {"linkId": "total", "answer": [{"valueDecimal": Decimal(20)}]}]}
    assert extract_observations(form, tampered, ExtractMeta()) == []


def test_section_and_total_scores_in_a_nested_form_compute_per_section() -> None:
    def section(name: str, codes: list[str]) -> dict:
        return item(name, "group", item=[
            *[item(f"{name}-{c}", "choice", answerOption=[on_coding(POINTS[p], p) for p in range(4)]) for c in codes],
            item(f"{name}-score", "integer", readOnly=True)])
    q = questionnaire(section("a", ["1", "2"]), section("b", ["1"]), item("grand", "integer", readOnly=True))
    data = {"q.a-1.0": f"{LOINC}|{POINTS[3]}", "q.a-2.0": f"{LOINC}|{POINTS[2]}", "q.b-1.0": f"{LOINC}|{POINTS[1]}"}
    form, state, view = run(q, data)
    assert view.node("a-score", (0,)).answers == [("Integer", 5)]
    assert view.node("b-score", (0,)).answers == [("Integer", 1)]
    assert view.node("grand").answers == [("Integer", 6)]


def test_a_section_score_by_calculated_expression_over_descendants_uses_weight() -> None:
    q = questionnaire(item("s", "group", item=[
        item("s1", "choice", answerOption=[on_coding(POINTS[p], p) for p in range(4)]),
        item("s2", "choice", answerOption=[on_option(POINTS[p], p) for p in range(4)]),
        item("s-score", "integer", readOnly=True, ext=[sdc_expression(
            "sdc-questionnaire-calculatedExpression", "%context.repeat(item).answer.value.weight().sum()")])]))
    # %context of an item is its own node; the section's is what the expression should look at
    q["item"][0]["item"][2]["extension"][0]["valueExpression"]["expression"] = (
        "%resource.item.where(linkId='s').item.answer.value.weight().sum()")
    form, state, view = run(q, {"q.s1.0": f"{LOINC}|{POINTS[2]}", "q.s2.0": f"{LOINC}|{POINTS[3]}"})
    assert view.node("s-score", (0,)).answers == [("Integer", 5)]


def test_ordinals_on_an_unscored_uncoded_form_show_no_score() -> None:
    q = questionnaire(item("c", "choice", answerOption=[on_option(POINTS[1], 1)]))
    assert run(q, {"q.c.r": f"{LOINC}|{POINTS[1]}"})[2].score is None


def test_a_copy_of_a_form_with_other_options_gets_its_own_score_plan() -> None:
    import copy

    from smart_app.forms.scoring import score_plan
    form = build_form(phq9())
    assert score_plan(form).weights  # computed and kept on the shared form
    copied = copy.deepcopy(form)
    for copied_item in copied.by_link_id.values():
        copied_item.options = tuple(o for o in copied_item.options if o.ordinal == 0)
    assert set(score_plan(copied).weights.values()) == {0}
    assert set(score_plan(form).weights.values()) == {0, 1, 2, 3}
