"""Scores from answer ordinalValue/itemWeight, with PHQ-9 and GAD-7 interpretation bands.

Null-safe: skipped or disabled items simply do not count; a total is None only when nothing
scored was answered, and `complete` says whether every scored item was answered.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from .answers import Answer
from .model import Form, FormItem, coding_token

LOINC = "http://loinc.org"


@dataclass(frozen=True)
class Instrument:
    """A scored instrument: panel code, total-score code, range and severity bands."""

    name: str
    panel_code: str
    total_code: str
    total_display: str
    maximum: int
    bands: tuple[tuple[int, int, str], ...]


# Bands: Kroenke 2001 (PHQ-9) and Spitzer 2006 (GAD-7).
PHQ9 = Instrument(
    "PHQ-9", "44249-1", "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", 27,
    ((0, 4, "None to minimal depression"), (5, 9, "Mild depression"), (10, 14, "Moderate depression"),
     (15, 19, "Moderately severe depression"), (20, 27, "Severe depression")),
)
GAD7 = Instrument(
    "GAD-7", "69737-5", "70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]", 21,
    ((0, 4, "Minimal anxiety"), (5, 9, "Mild anxiety"), (10, 14, "Moderate anxiety"), (15, 21, "Severe anxiety")),
)
INSTRUMENTS = {i.panel_code: i for i in (PHQ9, GAD7)}


@dataclass(frozen=True)
class Score:
    """A computed total; `band` is set only for known instruments with a complete total."""

    total: Decimal | None
    answered: int
    expected: int
    instrument: Instrument | None = None
    band: str | None = None

    @property
    def complete(self) -> bool:
        """Every scored item was answered."""
        return self.answered == self.expected and self.expected > 0


def instrument_for(form: Form) -> Instrument | None:
    """The known instrument this form is, by its LOINC code."""
    for coding in form.code:
        if coding.get("system") in (LOINC, None) and coding.get("code") in INSTRUMENTS:
            return INSTRUMENTS[coding["code"]]
    return None


def band(instrument: Instrument, total: Decimal | int) -> str | None:
    """Interpretation band of a total; None when out of range."""
    for low, high, label in instrument.bands:
        if low <= total <= high:
            return label
    return None


def is_total_item(item: FormItem, instrument: Instrument | None) -> bool:
    """Whether this item holds the instrument's total score."""
    return instrument is not None and any(
        c.get("code") == instrument.total_code for c in item.code
    )


def score(form: Form, answers: Iterable[tuple[FormItem, list[Answer]]]) -> Score | None:
    """Sum option ordinals over answered scored items; None when the form has no scored items."""
    instrument = instrument_for(form)
    scored = [i for i in form.walk() if i.ordinals]
    if not scored:
        return None
    total = Decimal(0)
    answered = 0
    for item, item_answers in answers:
        ordinals = item.ordinals
        if not ordinals or not item_answers:
            continue
        points = [ordinals.get(_token(a)) for a in item_answers]
        points = [p for p in points if p is not None]
        if points:
            answered += 1
            total += sum(points, Decimal(0))
    result_total = total if answered else None
    label = None
    if instrument and result_total is not None and answered == len(scored):
        label = band(instrument, result_total)
    return Score(result_total, answered, len(scored), instrument, label)


def _token(answer: Answer) -> str:
    """Option token for an answer, matching Option.token."""
    suffix, value = answer
    return coding_token(value) if suffix == "Coding" else str(value)
