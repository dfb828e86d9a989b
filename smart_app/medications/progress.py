"""The review's progress and shortcuts, pure: how many medicines are answered, "I take all of these
as prescribed", and added medicines that look like one already on the list (duplicates.py decides)."""
from __future__ import annotations

from typing import Mapping, Sequence

from .duplicates import Match
from .duplicates import possible_duplicates as _matches
from .model import MedicationRow
from .report import added_block_count, added_field_name, field_name

ALL_AS_PRESCRIBED = "all-as-prescribed"
TAKING = "taking"


def reviewed_count(rows: Sequence[MedicationRow], values: Mapping[str, str]) -> int:
    """How many listed medicines have an answer."""
    return sum(1 for row in rows if values.get(field_name(row.key, "status")))


def all_as_prescribed(rows: Sequence[MedicationRow], values: Mapping[str, str]) -> dict[str, str]:
    """The answers with "Taking it as prescribed" for every medicine not yet answered; answers already
    given (the exceptions) are kept, and any can be changed after."""
    out = dict(values)
    for row in rows:
        out.setdefault(field_name(row.key, "status"), TAKING)
        if not out[field_name(row.key, "status")]:
            out[field_name(row.key, "status")] = TAKING
    return out


def possible_duplicates(rows: Sequence[MedicationRow], values: Mapping[str, str]) -> dict[int, list[Match]]:
    """Added medicine blocks (by index) that share an ingredient with a listed medicine, with the matches."""
    found: dict[int, list[Match]] = {}
    for index in range(added_block_count(values)):
        matches = _matches(rows, values.get(added_field_name(index, "name"), ""))
        if matches:
            found[index] = matches
    return found
