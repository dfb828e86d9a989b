"""The review's progress and shortcuts, pure: how many medicines are answered, "I take all of these
as prescribed", and added medicines that look like one already on the list."""
from __future__ import annotations

import re
from typing import Mapping, Sequence

from .model import MedicationRow
from .names import ingredients
from .report import added_block_count, added_field_name, field_name

ALL_AS_PRESCRIBED = "all-as-prescribed"
TAKING = "taking"
_WORD = re.compile(r"[a-z0-9]+")


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


def _words(text: str) -> list[str]:
    """Lower-case words and numbers of a name."""
    return _WORD.findall(text.lower())


def _contains(haystack: list[str], needle: list[str]) -> bool:
    """True when the words of `needle` appear in order, side by side, in `haystack`."""
    return bool(needle) and any(haystack[i:i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def possible_duplicates(rows: Sequence[MedicationRow], values: Mapping[str, str]) -> dict[int, list[MedicationRow]]:
    """Added medicine blocks (by index) whose name holds an ingredient or brand of a listed medicine."""
    listed = [(row, [_words(i) for i in ingredients(row.name)]) for row in rows]
    found: dict[int, list[MedicationRow]] = {}
    for index in range(added_block_count(values)):
        typed = _words(values.get(added_field_name(index, "name"), ""))
        matches = [row for row, names in listed if any(_contains(typed, n) for n in names)]
        if typed and matches:
            found[index] = matches
    return found
