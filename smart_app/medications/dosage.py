"""FHIR R4 Dosage -> one plain-language sentence ("1 tablet by mouth twice a day").

Implements the wording for https://hl7.org/fhir/R4/dosage.html: text first, otherwise
doseAndRate, route, timing (repeat, when, code) and asNeeded. Unknown codes are left out
rather than shown raw.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ._json import arr as _list
from ._json import obj as _dict
from ._json import text as _text

SNOMED = "http://snomed.info/sct"

# SNOMED CT route concepts (https://hl7.org/fhir/R4/valueset-route-codes.html).
_ROUTES = {
    "26643006": "by mouth",
    "37839007": "under the tongue",
    "47625008": "into a vein",
    "78421000": "into a muscle",
    "34206005": "under the skin",
    "6064005": "on the skin",
    "45890007": "through the skin",
    "46713006": "in the nose",
    "54485002": "in the eye",
    "10547007": "in the ear",
    "37161004": "rectally",
    "16857009": "vaginally",
    "447694001": "inhaled",
}
# HL7 v3 RouteOfAdministration codes seen in EHR data.
_V3_ROUTES = {"PO": "by mouth", "SL": "under the tongue", "IV": "into a vein", "IM": "into a muscle"}

# Timing.repeat.when (https://hl7.org/fhir/R4/valueset-event-timing.html).
_WHEN = {
    "HS": "at bedtime",
    "WAKE": "when you wake up",
    "C": "with meals",
    "CM": "with breakfast",
    "CD": "with lunch",
    "CV": "with dinner",
    "AC": "before meals",
    "ACM": "before breakfast",
    "ACD": "before lunch",
    "ACV": "before dinner",
    "PC": "after meals",
    "PCM": "after breakfast",
    "PCD": "after lunch",
    "PCV": "after dinner",
    "MORN": "in the morning",
    "AFT": "in the afternoon",
    "EVE": "in the evening",
    "NIGHT": "at night",
}

# Timing.code (https://hl7.org/fhir/R4/valueset-timing-abbreviation.html).
_TIMING_CODES = {
    "BID": "twice a day",
    "TID": "3 times a day",
    "QID": "4 times a day",
    "QD": "once a day",
    "QOD": "every other day",
    "AM": "in the morning",
    "PM": "in the evening",
    "Q1H": "every hour",
    "Q2H": "every 2 hours",
    "Q3H": "every 3 hours",
    "Q4H": "every 4 hours",
    "Q6H": "every 6 hours",
    "Q8H": "every 8 hours",
    "BED": "at bedtime",
    "WK": "once a week",
    "MO": "once a month",
}

_UNIT_WORDS = {"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week", "mo": "month", "a": "year"}
_DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}

# Dose units: UCUM annotations and orderable-drug-form codes -> words.
_DOSE_UNITS = {
    "TAB": "tablet",
    "{tbl}": "tablet",
    "{tablet}": "tablet",
    "{tablets}": "tablet",
    "CAP": "capsule",
    "{capsule}": "capsule",
    "{capsules}": "capsule",
    "PUFF": "puff",
    "{puff}": "puff",
    "{puffs}": "puff",
    "{drop}": "drop",
    "[drp]": "drop",
    "{patch}": "patch",
    "{spray}": "spray",
    "{sprays}": "spray",
    "U": "unit",
    "[iU]": "unit",
    "[IU]": "unit",
    "ug": "mcg",
    "ml": "mL",
    "ML": "mL",
}
_COUNTABLE = {"tablet", "capsule", "puff", "drop", "patch", "spray", "unit", "pill", "lozenge", "suppository"}


def describe_dosage(dosage: dict[str, Any]) -> str:
    """Say how to take a medicine in plain language; the prescriber's text wins when present."""
    if not isinstance(dosage, dict):
        return ""
    text = _text(dosage.get("text"))
    if text:
        return text
    dose_and_rate = [entry for entry in _list(dosage.get("doseAndRate")) if isinstance(entry, dict)]
    parts = [
        _dose_phrase(dose_and_rate),
        _route_phrase(_dict(dosage.get("route"))),
        _timing_phrase(_dict(dosage.get("timing"))),
        _as_needed_phrase(dosage),
    ]
    return " ".join(part for part in parts if part)


def describe_dosages(dosages: list[dict[str, Any]]) -> str:
    """Join several dosage lines in sequence order, dropping empty or repeated ones."""
    ordered = sorted(
        (d for d in dosages if isinstance(d, dict)),
        key=lambda d: d["sequence"] if isinstance(d.get("sequence"), int) else 0,
    )
    lines: list[str] = []
    for dosage in ordered:
        line = describe_dosage(dosage)
        if line and line not in lines:
            lines.append(line)
    return "; ".join(lines)


def _number(value: Any) -> str | None:
    """Format a JSON number without a trailing ``.0``."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return format(number.normalize(), "f")


def _unit_word(quantity: dict[str, Any]) -> str:
    """Pick a readable unit: the mapped code, else the given unit, never a raw annotation."""
    code = _text(quantity.get("code"))
    unit = _text(quantity.get("unit"))
    for candidate in (code, unit):
        if candidate in _DOSE_UNITS:
            return _DOSE_UNITS[candidate]
    if unit:
        return unit.lower() if unit.lower() in _COUNTABLE else unit
    if code.startswith("{") and code.endswith("}"):
        return code[1:-1]
    return code


def _with_unit(amount: str, unit: str, plural: bool) -> str:
    """Attach a unit to an amount, pluralising countable units."""
    if not unit:
        return amount
    if plural and unit in _COUNTABLE:
        unit = "patches" if unit == "patch" else unit + "s"
    return f"{amount} {unit}"


def _dose_phrase(dose_and_rate: list[dict[str, Any]]) -> str:
    """Dose as "1 tablet", "10 mL" or "1 to 2 tablets"."""
    for entry in dose_and_rate:
        quantity = _dict(entry.get("doseQuantity"))
        if quantity:
            amount = _number(quantity.get("value"))
            if amount is None:
                continue
            return _with_unit(amount, _unit_word(quantity), Decimal(amount) != 1)
        dose_range = _dict(entry.get("doseRange"))
        if dose_range:
            low, high = _dict(dose_range.get("low")), _dict(dose_range.get("high"))
            low_n, high_n = _number(low.get("value")), _number(high.get("value"))
            unit = _unit_word(high or low)
            if low_n and high_n:
                return _with_unit(f"{low_n} to {high_n}", unit, True)
            if high_n:
                return _with_unit(f"up to {high_n}", unit, Decimal(high_n) != 1)
            if low_n:
                return _with_unit(f"at least {low_n}", unit, Decimal(low_n) != 1)
    return ""


def _route_phrase(route: dict[str, Any]) -> str:
    """Route as "by mouth"; falls back to the route's own words, never its code."""
    codings = [_dict(c) for c in _list(route.get("coding"))]
    for coding in codings:
        code = coding.get("code")
        system = coding.get("system")
        system = system if isinstance(system, str) else ""
        if system == SNOMED and code in _ROUTES:
            return _ROUTES[code]
        if code in _V3_ROUTES and system.endswith("RouteOfAdministration"):
            return _V3_ROUTES[code]
    text = _text(route.get("text"))
    if text:
        return _lower_words(text)
    for coding in codings:
        display = _text(coding.get("display"))
        if display:
            return _lower_words(display.replace(" route", ""))
    return ""


def _timing_phrase(timing: dict[str, Any]) -> str:
    """Frequency, times and days from Timing.repeat, else from Timing.code."""
    phrase = _repeat_phrase(_dict(timing.get("repeat")))
    if phrase:
        return phrase
    code = _dict(timing.get("code"))
    for coding in _list(code.get("coding")):
        if _dict(coding).get("code") in _TIMING_CODES:
            return _TIMING_CODES[coding["code"]]
    return _lower_words(_text(code.get("text")))


def _repeat_phrase(repeat: dict[str, Any]) -> str:
    """Wording for Timing.repeat: "twice a day", "every 4 to 6 hours", "at bedtime"."""
    when = [_WHEN[w] for w in _list(repeat.get("when")) if isinstance(w, str) and w in _WHEN]
    frequency = repeat.get("frequency")
    period = repeat.get("period")
    unit = repeat.get("periodUnit")
    # "at bedtime" already says once a day: don't repeat the frequency.
    implied_by_when = bool(when) and frequency in (None, len(when)) and period in (None, 1) and unit in (None, "d")
    parts: list[str] = []
    if not implied_by_when:
        parts.append(_frequency_phrase(frequency, repeat.get("frequencyMax"), period, repeat.get("periodMax"), unit))
    if when:
        parts.append(_join(when))
    times = [_clock(t) for t in _list(repeat.get("timeOfDay")) if isinstance(t, str)]
    if times:
        parts.append("at " + _join(times))
    days = [_DAYS[d] for d in _list(repeat.get("dayOfWeek")) if isinstance(d, str) and d in _DAYS]
    if days:
        parts.append("on " + _join(days))
    return " ".join(part for part in parts if part)


def _frequency_phrase(
    frequency: Any, frequency_max: Any, period: Any, period_max: Any, unit: Any
) -> str:
    """"once a day", "3 times a week", "every 8 hours", "every 4 to 6 hours"."""
    if unit not in _UNIT_WORDS or period is None:
        return ""
    word = _UNIT_WORDS[unit]
    period_n = _number(period)
    period_max_n = _number(period_max)
    count = frequency if isinstance(frequency, int) and frequency > 0 else 1
    if period_max_n:
        span = f"{period_n} to {period_max_n} {word}s"
        return f"every {span}" if count == 1 else f"{_times(count, frequency_max)} every {span}"
    if period_n is None or Decimal(period_n) != 1:
        span = f"{period_n} {word}s"
        if count == 1 and not frequency_max:
            return f"every {span}"
        return f"{_times(count, frequency_max)} every {span}"
    if count == 1 and not frequency_max and unit in ("h", "min", "s"):
        return f"every {word}"
    article = "an" if word == "hour" else "a"
    return f"{_times(count, frequency_max)} {article} {word}"


def _times(count: int, count_max: Any) -> str:
    """"once", "twice", "3 times", "1 to 2 times"."""
    if isinstance(count_max, int) and count_max > count:
        return f"{count} to {count_max} times"
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _clock(value: str) -> str:
    """"08:00:00" -> "8:00 am"."""
    try:
        hours, minutes = (int(part) for part in value.split(":")[:2])
    except ValueError:
        return value
    suffix = "am" if hours < 12 else "pm"
    return f"{(hours % 12) or 12}:{minutes:02d} {suffix}"


def _as_needed_phrase(dosage: dict[str, Any]) -> str:
    """"as needed" or "as needed for pain"."""
    concept = _dict(dosage.get("asNeededCodeableConcept"))
    if concept:
        reason = _text(concept.get("text"))
        if not reason:
            reason = next((_text(c.get("display")) for c in map(_dict, _list(concept.get("coding"))) if _text(c.get("display"))), "")
        return f"as needed for {_lower_words(reason)}" if reason else "as needed"
    if dosage.get("asNeededBoolean") is True:
        return "as needed"
    return ""


def _lower_words(text: str) -> str:
    """Lower-case words for mid-sentence use, keeping acronyms like "GERD"."""
    return " ".join(w if sum(ch.isupper() for ch in w) > 1 else w.lower() for w in text.split())


def _join(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
