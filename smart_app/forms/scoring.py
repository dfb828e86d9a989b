"""Scores from answer ordinalValue/itemWeight, with PHQ-9 and GAD-7 interpretation bands.

Null-safe: skipped or disabled items simply do not count; a total is None only when nothing
scored was answered, and `complete` says whether every scored item was answered.

Score items (the question that holds a total) are recognised here: PHQ-9, GAD-7 and AUDIT-C
totals by their LOINC code, and any read-only number that sits with scored questions. When
the form gives such an item no calculatedExpression, the app computes it as the sum of the
ordinals it covers (`summed_items`), so a person never types a score a clinician relies on.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from smart_app.text import Text

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


def N_(text: str) -> str:
    """Mark a band for the catalog; pages translate it where it is shown (records keep the English)."""
    return text


# Bands: Kroenke 2001 (PHQ-9) and Spitzer 2006 (GAD-7).
PHQ9 = Instrument(
    "PHQ-9", "44249-1", "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", 27,
    ((0, 4, N_("None to minimal depression")), (5, 9, N_("Mild depression")), (10, 14, N_("Moderate depression")),
     (15, 19, N_("Moderately severe depression")), (20, 27, N_("Severe depression"))),
)
GAD7 = Instrument(
    "GAD-7", "69737-5", "70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]", 21,
    ((0, 4, N_("Minimal anxiety")), (5, 9, N_("Mild anxiety")), (10, 14, N_("Moderate anxiety")), (15, 21, N_("Severe anxiety"))),
)
# AUDIT-C (Bush 1998): 0-12; its positive cut-off differs by sex, so no band is printed.
AUDITC = Instrument("AUDIT-C", "72109-2", "75626-2", "Total score [AUDIT-C]", 12, ())
INSTRUMENTS = {i.panel_code: i for i in (PHQ9, GAD7, AUDITC)}
BY_TOTAL_CODE = {i.total_code: i for i in INSTRUMENTS.values()}
NUMERIC = frozenset({"integer", "decimal"})


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
    """The known instrument this form is: by its panel LOINC code, else by a total-score item's code."""
    for coding in form.code:
        if coding.get("system") in (LOINC, None) and coding.get("code") in INSTRUMENTS:
            return INSTRUMENTS[coding["code"]]
    for item in form.walk():
        found = total_instrument(item)
        if found is not None:
            return found
    return None


def total_instrument(item: FormItem) -> Instrument | None:
    """The instrument whose total score this item holds, by its LOINC code (PHQ-9, GAD-7, AUDIT-C)."""
    for coding in item.code:
        if coding.get("system") in (LOINC, None) and coding.get("code") in BY_TOTAL_CODE:
            return BY_TOTAL_CODE[coding["code"]]
    return None


def score_scope(item: FormItem) -> FormItem | None:
    """The group a score item totals: its nearest enclosing group (None: the whole form)."""
    return next((a for a in item.ancestors() if a.type == "group"), None)


def summed_items(form: Form, item: FormItem) -> tuple[FormItem, ...]:
    """The scored questions (with ordinals) a score item covers: those under its scope, itself excluded."""
    scope = score_scope(item)
    candidates: list[FormItem] = []
    if scope is None:
        candidates.extend(form.walk())
    else:
        stack = list(reversed(scope.children))
        while stack:
            node = stack.pop()
            candidates.append(node)
            stack.extend(reversed(node.children))
    return tuple(i for i in candidates if i is not item and i.ordinals)


def is_sum_score_item(form: Form, item: FormItem) -> bool:
    """A score the app computes by summing ordinals: no calculatedExpression, a number, and scored
    questions to sum; either a known total (by LOINC) or a read-only number beside scored questions."""
    if item.calculated_expression is not None or item.type not in NUMERIC:
        return False
    if total_instrument(item) is None and not item.read_only:
        return False
    return bool(summed_items(form, item))


def typed_total_problem(item: FormItem, value: Decimal | int) -> str | None:
    """Why a total typed for a known instrument cannot be right (outside its range, or not whole); None if plausible."""
    instrument = total_instrument(item)
    if instrument is None:
        return None
    number = Decimal(str(value))
    if not 0 <= number <= instrument.maximum or number != number.to_integral_value():
        return Text("Enter a whole number from 0 to %(maximum)s (the %(name)s score range).",
                    maximum=instrument.maximum, name=instrument.name)
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


@dataclass(frozen=True)
class ScorePlan:
    """What scoring needs from a form, worked out once per built form (forms are immutable once built)."""

    scored: bool  # the form is a scored instrument (has_score)
    sums: dict[str, tuple[FormItem, ...]]  # score item linkId -> the scored questions it sums
    weights: dict[str, Decimal]  # option token -> ordinal, for the FHIRPath weight() function


def score_plan(form: Form) -> ScorePlan:
    """The form's ScorePlan, computed on first use and kept on the form (racing threads compute the same).

    Kept with the id of the form it was made for: a copy (e.g. a form whose value sets the EHR
    expanded) has other options, so it gets its own plan instead of the copied one.
    """
    kept = form.__dict__.get("_score_plan")
    plan = kept[1] if kept is not None and kept[0] == id(form) else None
    if plan is None:
        plan = ScorePlan(
            scored=_has_score(form),
            sums={i.link_id: summed_items(form, i) for i in form.by_link_id.values() if is_sum_score_item(form, i)},
            weights={o.token: o.ordinal for i in form.by_link_id.values() for o in i.options if o.ordinal is not None},
        )
        form.__dict__["_score_plan"] = (id(form), plan)
    return plan


def has_score(form: Form) -> bool:
    """Whether the form is a scored instrument at all: a known instrument, or an item the app computes as a score.

    Ordinals on options alone do not make a score (many forms carry them for other reasons).
    """
    return score_plan(form).scored


def _has_score(form: Form) -> bool:
    """has_score, uncached."""
    return instrument_for(form) is not None or any(
        is_sum_score_item(form, i) or (i.calculated_expression is not None and i.type in NUMERIC and summed_items(form, i))
        for i in form.walk())


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
        points = [p for p in (ordinals.get(_token(a)) for a in item_answers) if p is not None]
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
