"""live.py: the page's picture of a form and the difference the evaluate endpoint sends back (pure)."""
from __future__ import annotations

import pytest

from smart_app.forms import live

from .conftest import item, questionnaire, run, sdc_expression

SMOKING = questionnaire(
    item("smoker", "boolean", text="Do you smoke?"),
    item("per-day", "integer", text="How many a day?",
         enableWhen=[{"question": "smoker", "operator": "=", "answerBoolean": True}]),
    item("heavy", "display", text="That is a lot.",
         enableWhen=[{"question": "per-day", "operator": ">", "answerInteger": 20}]),
    item("double", "integer", text="Twice that", readOnly=True,
         ext=[sdc_expression("sdc-questionnaire-calculatedExpression",
                             "%resource.item.where(linkId='per-day').answer.value * 2")]),
)


def _picture(data: dict) -> tuple[object, live.Baseline]:
    """(view, picture) for these posted fields."""
    _, _, view = run(SMOKING, data)
    return view, live.picture(view, "")


def test_a_question_that_comes_into_play_is_shown_and_announced() -> None:
    _, before = _picture({})
    view, now = _picture({"q.smoker.r": "true"})
    found = live.changes(view, before, now, touched=())
    assert found.show == [view.node("per-day").id + "-item"]
    assert found.hide == [] and found.announce == ["How many a day?"]


def test_a_chain_hides_together_when_its_first_answer_changes() -> None:
    view, before = _picture({"q.smoker.r": "true", "q.per-day.r": "30"})
    assert not before.hidden - {view.node("double").id + "-item"}  # everything in play
    view, now = _picture({"q.smoker.r": "false", "q.per-day.r": "30"})
    found = live.changes(view, before, now, touched=())
    assert set(found.hide) == {view.node("per-day").id + "-item", view.node("heavy").id}
    assert found.show == [] and found.announce == []


def test_nothing_changed_sends_nothing() -> None:
    view, before = _picture({"q.smoker.r": "true", "q.per-day.r": "5"})
    found = live.changes(view, before, before, touched=())
    assert (found.show, found.hide, found.values, found.score, found.errors) == ([], [], {}, None, {})


def test_a_calculated_value_is_sent_when_it_changes_and_is_empty_until_it_can_be_computed() -> None:
    _, before = _picture({"q.smoker.r": "true"})
    view, now = _picture({"q.smoker.r": "true", "q.per-day.r": "5"})
    node_id = view.node("double").id
    assert before.values[node_id] == ""
    assert live.changes(view, before, now, touched=()).values == {node_id: "10"}


def test_messages_are_sent_for_touched_fields_only_and_cleared_when_fixed() -> None:
    view, now = _picture({"q.smoker.r": "true", "q.per-day.r": "many"})
    assert live.changes(view, now, now, touched=()).errors == {}
    field = view.node("per-day")
    assert live.changes(view, now, now, touched=[field.name]).errors[field.id]
    view, now = _picture({"q.smoker.r": "true", "q.per-day.r": "3"})
    assert live.changes(view, now, now, touched=[field.name]).errors == {field.id: []}


def test_the_score_line_is_sent_only_when_its_words_change() -> None:
    view, _ = _picture({})
    before, after = live.Baseline(score=""), live.Baseline(score="Score: 3")
    assert live.changes(view, before, after, ()).score == "Score: 3"
    assert live.changes(view, after, after, ()).score is None
    assert live.changes(view, after, before, ()).score == ""


@pytest.mark.parametrize("text", [None, "", "{", "[]", '{"h": "x", "v": {}, "s": ""}', '{"h": [], "v": {"a": 1}, "s": ""}',
                                  '{"h": [], "v": {}, "s": 3}', "x" * (live.MAX_BASELINE_CHARS + 1)])
def test_a_malformed_picture_is_unknown_and_everything_is_sent(text) -> None:
    assert live.Baseline.decode(text) is None
    view, now = _picture({})
    found = live.changes(view, None, now, touched=())
    assert view.node("per-day").id + "-item" in found.hide and found.announce == []


def test_the_picture_round_trips_through_its_encoding() -> None:
    _, picture = _picture({"q.smoker.r": "true", "q.per-day.r": "25"})
    assert live.Baseline.decode(picture.encode()) == picture
