"""Form input -> a validated Review, with one plain message per problem field.

Field names are stable so a draft saved from a POST restores the same form:
``med.<row key>.status|how|since|why|why_other|side_effects`` and ``add.<n>.name|dose|often``.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Mapping, cast

from smart_app.text import Text

from .model import (
    STATUS_LABELS,
    STOP_REASON_LABELS,
    AddedMedicine,
    MedicationRow,
    MedicineReport,
    ReportStatus,
    Review,
    StopReason,
)

MAX_TEXT = 500
MAX_ADDED = 20
ADD_ACTION = "add-medicine"
ADD_COUNT_FIELD = "add.count"

_ADDED_FIELD = re.compile(r"^add\.(\d{1,3})\.(name|dose|often)$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def field_name(row_key: str, part: str) -> str:
    """The form field name for one part of a row, e.g. ``med.rx-1.status``."""
    return f"med.{row_key}.{part}"


def added_field_name(index: int, part: str) -> str:
    """The form field name for one part of an added medicine, e.g. ``add.0.name``."""
    return f"add.{index}.{part}"


def review_form_values(form_data: Mapping[str, Any]) -> dict[str, str]:
    """Only the review's own fields (no CSRF token or buttons), for saving as a draft."""
    return {
        key: str(value)
        for key, value in form_data.items()
        if isinstance(key, str) and (key.startswith("med.") or key == ADD_COUNT_FIELD or _ADDED_FIELD.match(key))
    }


def added_block_count(form_data: Mapping[str, Any], action: str | None = None) -> int:
    """How many "add a medicine" blocks to show: those filled in, one more after "Add"."""
    indices = [int(m.group(1)) for key in form_data if isinstance(key, str) and (m := _ADDED_FIELD.match(key))]
    count = max(indices) + 1 if indices else 0
    shown = _text(form_data, ADD_COUNT_FIELD)
    if shown.isdigit():
        count = max(count, int(shown))
    if action == ADD_ACTION:
        count += 1
    return min(max(count, 1), MAX_ADDED)


def parse_review(
    rows: list[MedicationRow], form_data: Mapping[str, Any], today: date | None = None
) -> tuple[Review, dict[str, str]]:
    """Validate the posted review; errors map a field name to a message saying how to fix it."""
    today = today or date.today()
    errors: dict[str, str] = {}
    reports = [r for row in rows if (r := _parse_row(row, form_data, today, errors)) is not None]
    added = _parse_added(form_data, errors)
    return Review(reports=reports, added=added), errors


def _text(form_data: Mapping[str, Any], name: str) -> str:
    """A trimmed text value; missing fields read as empty."""
    value = form_data.get(name)
    return value.strip() if isinstance(value, str) else ""


def _limited(form_data: Mapping[str, Any], name: str, errors: dict[str, str], too_long: str | None = None) -> str | None:
    """Free text within the length limit, or None when empty; `too_long` names the field in the message."""
    value = _text(form_data, name)
    if len(value) > MAX_TEXT:
        errors[name] = too_long or Text("Keep this under %(max)s characters.", max=MAX_TEXT)
    return value or None


def _parse_row(
    row: MedicationRow, form_data: Mapping[str, Any], today: date, errors: dict[str, str]
) -> MedicineReport | None:
    """One medicine's report, recording errors for its fields."""
    status_field = field_name(row.key, "status")
    status = _text(form_data, status_field)
    side_effects = _limited(form_data, field_name(row.key, "side_effects"), errors)
    if not status:
        errors[status_field] = Text("Tell us whether you are taking %(name)s.", name=row.friendly.text)
        return None
    if status not in STATUS_LABELS:
        errors[status_field] = Text("Choose one of the answers for %(name)s.", name=row.friendly.text)
        return None
    how = since = why = why_other = None
    if status == "different":
        how_field = field_name(row.key, "how")
        how = _limited(form_data, how_field, errors)
        if how is None:
            errors[how_field] = Text("Tell us how you take it differently.")
    if status == "not-taking":
        since = _since(form_data, field_name(row.key, "since"), today, errors)
        why_field = field_name(row.key, "why")
        why = _text(form_data, why_field) or None
        if why is None:
            errors[why_field] = Text("Tell us why you are not taking it.")
        elif why not in STOP_REASON_LABELS:
            errors[why_field] = Text("Choose one of the reasons.")
            why = None
        elif why == "other":
            # Optional: "Other reason" alone is a complete answer; the words only help the clinician.
            why_other = _limited(form_data, field_name(row.key, "why_other"), errors,
                                 Text("Keep your other reason to %(max)s characters or fewer.", max=MAX_TEXT))
    return MedicineReport(row, cast(ReportStatus, status), how, since, cast(StopReason | None, why), side_effects,
                          why_other=why_other)


def _since(form_data: Mapping[str, Any], name: str, today: date, errors: dict[str, str]) -> str | None:
    """An optional FHIR date (year, year-month or full date) that is not in the future."""
    value = _text(form_data, name)
    if not value:
        return None
    match = _PARTIAL_DATE.match(value)
    if not match:
        errors[name] = Text("Enter the date you stopped as a date, for example 2024-03-01.")
        return None
    year, month, day = match.groups()
    try:
        earliest = date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        errors[name] = Text("Enter a real date, for example 2024-03-01.")
        return None
    if earliest > today:
        errors[name] = Text("The date you stopped must be today or earlier.")
        return None
    return value


def _parse_added(form_data: Mapping[str, Any], errors: dict[str, str]) -> list[AddedMedicine]:
    """Medicines added by the patient; blank blocks are ignored, a name is required otherwise."""
    indices = sorted(
        {int(m.group(1)) for key in form_data if isinstance(key, str) and (m := _ADDED_FIELD.match(key))}
    )[:MAX_ADDED]
    added: list[AddedMedicine] = []
    for index in indices:
        name_field = added_field_name(index, "name")
        name = _limited(form_data, name_field, errors)
        dose = _limited(form_data, added_field_name(index, "dose"), errors)
        often = _limited(form_data, added_field_name(index, "often"), errors)
        if name is None and dose is None and often is None:
            continue
        if name is None:
            errors[name_field] = Text("Tell us the name of the medicine you added.")
            continue
        added.append(AddedMedicine(name=name, dose=dose, how_often=often))
    return added
