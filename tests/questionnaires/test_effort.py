"""effort.py: roughly how long what is left of a form takes, from its items (pure)."""
from __future__ import annotations

from smart_app.forms import LIBRARY_BASE, FormState, build_form, find
from smart_app.forms.effort import SECONDS_BY_TYPE, minutes, seconds_left

from .conftest import item, questionnaire, sdc_expression


def test_only_questions_asked_from_the_start_count() -> None:
    form = build_form(questionnaire(
        item("a", "boolean"), item("b", "text"),
        item("c", "string", enableWhen=[{"question": "a", "operator": "=", "answerBoolean": True}]),
        item("d", "integer", readOnly=True),
        item("e", "integer", ext=[sdc_expression("sdc-questionnaire-calculatedExpression", "1")]),
        item("g", "group", item=[item("f", "choice", answerOption=[{"valueString": "x"}])]),
    ))
    assert seconds_left(form) == SECONDS_BY_TYPE["boolean"] + SECONDS_BY_TYPE["text"] + SECONDS_BY_TYPE["choice"]


def test_answered_questions_are_done() -> None:
    form = build_form(questionnaire(item("a", "boolean"), item("b", "text")))
    state = FormState.from_post(form, {"q.a.r": "true"})
    assert seconds_left(form, state) == SECONDS_BY_TYPE["text"]


def test_minutes_round_up_and_nothing_left_is_zero() -> None:
    assert [minutes(s) for s in (0, 1, 60, 61, 300)] == [0, 1, 1, 2, 5]


def test_the_bundled_forms_take_a_few_minutes_each() -> None:
    phq9 = build_form(find(LIBRARY_BASE + "phq-9"))
    intake = build_form(find(LIBRARY_BASE + "previsit-intake"))
    assert seconds_left(phq9) == 9 * SECONDS_BY_TYPE["choice"]  # not the total, not "how difficult"
    assert 1 <= minutes(seconds_left(intake)) <= 5
