"""The sidebar's lines (pure): what was asked, what is overdue, what is done with its score; only this visit's
requests and the open ones; overdue first; only the clinician who asked may cancel."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from smart_app.web.asked import request_lines, score_text
from smart_app.assignments.model import parse_task
from smart_app.context import FhirReference
from smart_app.forms.catalog import CatalogEntry, CompletedResponse
from smart_app.forms.scoring import Instrument, Score
from tests.assignments.tasks import ISS, sdc_task

NOW = datetime(2026, 1, 14, 12, 0, tzinfo=timezone.utc)
ME = FhirReference("Practitioner", "dr1")
PHQ = Instrument(name="PHQ-9", panel_code="44249-1", total_code="44261-6", total_display="PHQ-9 total", maximum=27,
                 bands=((0, 4, "Minimal"), (5, 9, "Mild depression")))


def _entry(*responses: CompletedResponse) -> CatalogEntry:
    """The catalog's clinic intake form, with its completed responses."""
    return CatalogEntry(key="intake", canonical="https://clinic.example/Questionnaire/intake|2", title="Clinic intake",
                        source="task", resource={}, completed=list(responses))


def _lines(*resources: dict, entries=(), encounter_id="e1", can_cancel=True, tz=timezone.utc):
    """Lines for these Task resources."""
    return request_lines([parse_task(r) for r in resources], list(entries), now=NOW, tz=tz, me=ME, iss=ISS,
                         encounter_id=encounter_id, response_url=lambda e, r: f"/answers/{r.id}", can_cancel=can_cancel)


def _visit(task_id: str, **extra) -> dict:
    """A Task linked to visit e1."""
    return sdc_task(task_id, encounter={"reference": "Encounter/e1"}, **extra)


def test_an_open_request_past_its_due_day_is_overdue_and_comes_first():
    lines = _lines(_visit("later", due="2026-01-20"), _visit("late", due="2026-01-13"))
    assert [(line.task_id, line.state) for line in lines] == [("late", "overdue"), ("later", "asked")]


def test_a_date_only_due_day_lasts_to_midnight_in_the_clinics_zone():
    due_today = _visit("t", due="2026-01-14")
    assert _lines(due_today)[0].state == "asked"
    # 12:00 UTC on the 14th is already the 15th in Auckland: the 14th has ended there.
    assert _lines(due_today, tz=ZoneInfo("Pacific/Auckland"))[0].state == "overdue"


def test_a_completed_request_shows_its_answers_date_and_computed_score():
    answers = CompletedResponse(id="qr1", authored="2026-01-12T08:00:00Z", author=None, resource={},
                                score=Score(total=Decimal(7), answered=9, expected=9, instrument=PHQ, band="Mild depression"))
    done = _visit("t", status="completed", questionnaire="https://clinic.example/Questionnaire/intake|2",
                  output=[{"type": {"coding": [{"system": "http://hl7.org/fhir/uv/sdc/CodeSystem/temp",
                                                "code": "questionnaire-response"}]},
                           "valueReference": {"reference": "QuestionnaireResponse/qr1"}}])
    [line] = _lines(done, entries=[_entry(answers)])
    assert (line.state, line.done_on, line.score, line.response_url) == \
        ("done", "2026-01-12T08:00:00Z", "7 of 27, Mild depression", "/answers/qr1")
    assert not line.cancellable


def test_a_completed_request_whose_answers_were_not_read_is_done_without_a_score():
    [line] = _lines(_visit("t", status="completed", lastModified="2026-01-11T17:00:00Z"))
    assert (line.state, line.done_on, line.score, line.response_url) == ("done", "2026-01-11T17:00:00Z", None, None)


def test_requests_of_other_visits_show_only_while_open():
    lines = _lines(sdc_task("open-elsewhere"), sdc_task("done-elsewhere", status="completed"),
                   _visit("cancelled-here", status="cancelled"))
    assert {line.task_id: (line.state, line.this_visit) for line in lines} == {
        "open-elsewhere": ("asked", False), "cancelled-here": ("cancelled", True)}


def test_only_the_clinician_who_asked_may_cancel_and_only_while_it_is_open():
    mine, theirs = _visit("mine"), {**_visit("theirs"), "requester": {"reference": "Practitioner/dr2"}}
    by_id = {line.task_id: line for line in _lines(mine, theirs, _visit("done", status="completed"))}
    assert (by_id["mine"].cancellable, by_id["theirs"].cancellable, by_id["done"].cancellable) == (True, False, False)
    assert not any(line.cancellable for line in _lines(mine, can_cancel=False))


def test_the_title_is_the_tasks_description_else_the_forms_title_else_its_url():
    described = _visit("a", description="Sleep diary")
    plain = _visit("b")
    unknown = _visit("c", questionnaire="https://clinic.example/Questionnaire/mood-check")
    titles = {line.task_id: line.title for line in _lines(described, plain, unknown, entries=[_entry()])}
    assert titles == {"a": "Sleep diary", "b": "Clinic intake", "c": "mood-check"}


def test_an_unscored_or_incomplete_total_has_no_score_text():
    assert score_text(None) is None
    assert score_text(CompletedResponse("x", None, None, Score(None, 3, 9), {})) is None
    assert score_text(CompletedResponse("x", None, None, Score(Decimal(4), 9, 9), {})) == "4"
