"""Overdue and due-soon are decided against the patient's own clock and calendar."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from smart_app.assignments.model import DueState, due_state, parse_due, parse_task

from .tasks import sdc_task

LAGOS = ZoneInfo("Africa/Lagos")  # UTC+1
HONOLULU = ZoneInfo("Pacific/Honolulu")  # UTC-10


def test_a_date_only_due_date_lasts_to_the_end_of_that_day_in_the_patients_zone():
    task = parse_task(sdc_task(due="2026-01-14"))
    last_minute = datetime(2026, 1, 14, 23, 59, tzinfo=LAGOS)
    assert due_state(task, last_minute, LAGOS) is DueState.DUE_SOON
    assert due_state(task, datetime(2026, 1, 15, 0, 0, 1, tzinfo=LAGOS), LAGOS) is DueState.OVERDUE


def test_the_same_moment_is_overdue_in_one_zone_and_not_in_another():
    task = parse_task(sdc_task(due="2026-01-14"))
    now = datetime(2026, 1, 15, 2, 0, tzinfo=timezone.utc)  # 03:00 in Lagos, 16:00 on the 14th in Honolulu
    assert due_state(task, now, LAGOS) is DueState.OVERDUE
    assert due_state(task, now, HONOLULU) is DueState.DUE_SOON


def test_due_soon_starts_three_days_before_and_later_before_that():
    task = parse_task(sdc_task(due="2026-01-14T09:00:00Z"))
    due = datetime(2026, 1, 14, 9, tzinfo=timezone.utc)
    assert due_state(task, due - timedelta(days=3), LAGOS) is DueState.DUE_SOON
    assert due_state(task, due - timedelta(days=3, seconds=1), LAGOS) is DueState.LATER
    assert due_state(task, due, LAGOS) is DueState.DUE_SOON
    assert due_state(task, due + timedelta(seconds=1), LAGOS) is DueState.OVERDUE


def test_no_or_unreadable_due_date_is_no_due_date():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert due_state(parse_task(sdc_task(due=None)), now, LAGOS) is DueState.NO_DUE_DATE
    assert due_state(parse_task(sdc_task(due="next week")), now, LAGOS) is DueState.NO_DUE_DATE


def test_partial_dates_end_at_the_end_of_their_month_or_year():
    assert parse_due("2026-02", LAGOS) == datetime(2026, 2, 28, 23, 59, 59, tzinfo=LAGOS)
    assert parse_due("2026-12", LAGOS) == datetime(2026, 12, 31, 23, 59, 59, tzinfo=LAGOS)
    assert parse_due("2026", LAGOS) == datetime(2026, 12, 31, 23, 59, 59, tzinfo=LAGOS)


def test_the_due_day_is_the_patients_calendar_day():
    task = parse_task(sdc_task(due="2026-01-14T23:30:00Z"))
    assert task.due_local_date(LAGOS) == date(2026, 1, 15)
    assert task.due_local_date(HONOLULU) == date(2026, 1, 14)
    assert parse_task(sdc_task(due="2026-01-14")).due_local_date(HONOLULU) == date(2026, 1, 14)


def test_a_task_belongs_to_the_visit_its_encounter_or_based_on_names():
    task = parse_task(sdc_task(encounter={"reference": "Encounter/e1"}, basedOn=[{"reference": "Appointment/a1"}]))
    assert task.belongs_to(appointment_id="a1")
    assert task.belongs_to(encounter_id="e1")
    assert not task.belongs_to(appointment_id="a2", encounter_id="e2")
    assert not parse_task(sdc_task()).belongs_to(appointment_id="a1")
