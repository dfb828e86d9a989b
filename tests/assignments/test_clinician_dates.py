"""A clinician reads dates as dates ("Thu 15 Jan 2026"), never a raw ISO string or a UTC conversion."""
from __future__ import annotations

import pytest

from smart_app.wording import clinician_date


@pytest.mark.parametrize("value,expected", [
    ("2026-01-15", "Thu 15 Jan 2026"),
    ("2026-01-15T23:30:00-05:00", "Thu 15 Jan 2026"),  # the day as the EHR wrote it, not the next day in UTC
    ("2026-01-16T00:30:00+01:00", "Fri 16 Jan 2026"),
    ("2026-12-31T09:00:00Z", "Thu 31 Dec 2026"),
    ("2026-02-30", None), ("2026-01", None), ("", None), (None, None), (20260115, None),
])
def test_a_fhir_date_or_datetime_reads_as_the_day_it_names(value, expected):
    assert clinician_date(value) == expected
