"""One format per kind of date, time and number, in the reader's language and time zone."""
from datetime import date, datetime, timezone

import pytest

from smart_app import i18n


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Tuesday 14 January"),
    ("es", "martes 14 de enero"),
])
def test_a_day_reads_with_its_weekday(language: str, expected: str) -> None:
    assert i18n.day("2025-01-14", locale=language) == expected


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "14 January 1970"),
    ("es", "14 de enero de 1970"),
])
def test_a_calendar_date_reads_with_its_year(language: str, expected: str) -> None:
    assert i18n.date("1970-01-14", locale=language) == expected


def test_an_instant_is_shown_on_the_readers_clock_never_in_utc() -> None:
    # 10:43 UTC is 05:43 in New York (EST) and 11:43 in Madrid (CET).
    assert i18n.time("2026-12-03T10:43:00Z", locale="en", zone="America/New_York") == "05:43"
    assert i18n.time("2026-12-03T10:43:00Z", locale="es", zone="Europe/Madrid") == "11:43"
    text = i18n.date_time("2026-12-03T10:43:07Z", locale="en", zone="Europe/Madrid")
    assert text == "Thursday 3 December at 11:43"
    assert "UTC" not in text and "T" not in text.split()[-1]


def test_a_moment_near_midnight_falls_on_the_readers_day() -> None:
    assert i18n.day("2026-12-04T02:00:00Z", locale="en", zone="America/Los_Angeles") == "Thursday 3 December"


def test_a_bare_date_is_never_shifted_by_a_time_zone() -> None:
    assert i18n.date("2026-12-04", locale="en", zone="Pacific/Honolulu") == "4 December 2026"


def test_date_time_in_spanish_says_a_las() -> None:
    when = datetime(2026, 12, 1, 9, 5, tzinfo=timezone.utc)
    assert i18n.date_time(when, locale="es", zone="UTC") == "martes 1 de diciembre a las 9:05"


@pytest.mark.parametrize(("value", "language", "expected"), [
    ("1970", "en", "1970"),
    ("1970-03", "en", "March 1970"),
    ("1970-03", "es", "marzo de 1970"),
    ("1970-03-02", "es", "2 de marzo de 1970"),
    (date(1970, 3, 2), "en", "2 March 1970"),
])
def test_a_fhir_date_of_any_precision_reads_as_words(value: object, language: str, expected: str) -> None:
    assert i18n.fhir_date(value, locale=language) == expected


@pytest.mark.parametrize(("value", "language", "expected"), [
    (1234.5, "en", "1,234.5"),
    (1234.5, "es", "1.234,5"),
    (72.0, "en", "72"),
    ("72.5", "es", "72,5"),
])
def test_numbers_follow_the_readers_locale(value: object, language: str, expected: str) -> None:
    assert i18n.number(value, locale=language) == expected


def test_a_quantity_carries_its_unit() -> None:
    assert i18n.quantity(72.5, "kg", locale="es") == "72,5 kg"


@pytest.mark.parametrize("value", ["", None, "soon", "2026-13-45"])
def test_unusable_values_are_shown_as_given_never_raise(value: object) -> None:
    assert i18n.day(value, locale="en") == ("" if value is None else value)
