"""FHIR R4 Dosage -> one plain-language sentence ("1 tablet by mouth twice a day").

Implements the wording for https://hl7.org/fhir/R4/dosage.html: text first, otherwise
doseAndRate, route, timing (repeat, when, code) and asNeeded. Unknown codes are left out
rather than shown raw.

The sentence is built of `Text` pieces (smart_app/text.py), so a page says it in the reader's
language; its str is the English. Numbers stay numbers and times of day stay times until said.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from smart_app.text import N_, Joined, NText, Text

from ._json import arr as _list
from ._json import obj as _dict
from ._json import text as _text

SNOMED = "http://snomed.info/sct"

# SNOMED CT route concepts (https://hl7.org/fhir/R4/valueset-route-codes.html).
_ROUTES = {
    "26643006": Text("by mouth"),
    "37839007": Text("under the tongue"),
    "47625008": Text("into a vein"),
    "78421000": Text("into a muscle"),
    "34206005": Text("under the skin"),
    "6064005": Text("on the skin"),
    "45890007": Text("through the skin"),
    "46713006": Text("in the nose"),
    "54485002": Text("in the eye"),
    "10547007": Text("in the ear"),
    "37161004": Text("rectally"),
    "16857009": Text("vaginally"),
    "447694001": Text("inhaled"),
}
# HL7 v3 RouteOfAdministration codes seen in EHR data.
_V3_ROUTES = {"PO": _ROUTES["26643006"], "SL": _ROUTES["37839007"], "IV": _ROUTES["47625008"], "IM": _ROUTES["78421000"]}

# Timing.repeat.when (https://hl7.org/fhir/R4/valueset-event-timing.html).
_WHEN = {
    "HS": Text("at bedtime"),
    "WAKE": Text("when you wake up"),
    "C": Text("with meals"),
    "CM": Text("with breakfast"),
    "CD": Text("with lunch"),
    "CV": Text("with dinner"),
    "AC": Text("before meals"),
    "ACM": Text("before breakfast"),
    "ACD": Text("before lunch"),
    "ACV": Text("before dinner"),
    "PC": Text("after meals"),
    "PCM": Text("after breakfast"),
    "PCD": Text("after lunch"),
    "PCV": Text("after dinner"),
    "MORN": Text("in the morning"),
    "AFT": Text("in the afternoon"),
    "EVE": Text("in the evening"),
    "NIGHT": Text("at night"),
}

# Timing.code (https://hl7.org/fhir/R4/valueset-timing-abbreviation.html).
_TIMING_CODES = {
    "BID": Text("twice a day"),
    "TID": Text("3 times a day"),
    "QID": Text("4 times a day"),
    "QD": Text("once a day"),
    "QOD": Text("every other day"),
    "AM": Text("in the morning"),
    "PM": Text("in the evening"),
    "Q1H": Text("every hour"),
    "Q2H": Text("every 2 hours"),
    "Q3H": Text("every 3 hours"),
    "Q4H": Text("every 4 hours"),
    "Q6H": Text("every 6 hours"),
    "Q8H": Text("every 8 hours"),
    "BED": Text("at bedtime"),
    "WK": Text("once a week"),
    "MO": Text("once a month"),
}

# The period words as said: (singular, plural), and "<times> a <period>" per unit.
_PERIODS: dict[str, tuple[str, str]] = {
    "s": (N_("second"), N_("seconds")), "min": (N_("minute"), N_("minutes")), "h": (N_("hour"), N_("hours")), "d": (N_("day"), N_("days")),
    "wk": (N_("week"), N_("weeks")), "mo": (N_("month"), N_("months")), "a": (N_("year"), N_("years")),
}
_TIMES_PER = {
    "s": N_("%(times)s a second"), "min": N_("%(times)s a minute"), "h": N_("%(times)s an hour"), "d": N_("%(times)s a day"),
    "wk": N_("%(times)s a week"), "mo": N_("%(times)s a month"), "a": N_("%(times)s a year"),
}
_DAYS = {
    "mon": Text("Monday"),
    "tue": Text("Tuesday"),
    "wed": Text("Wednesday"),
    "thu": Text("Thursday"),
    "fri": Text("Friday"),
    "sat": Text("Saturday"),
    "sun": Text("Sunday"),
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


def _countable(word: str, count: int) -> NText:
    """A countable dose unit for a count (1: singular, else plural), said in the reader's language."""
    if word == "tablet":
        return NText("tablet", "tablets", count)
    if word == "capsule":
        return NText("capsule", "capsules", count)
    if word == "puff":
        return NText("puff", "puffs", count)
    if word == "drop":
        return NText("drop", "drops", count)
    if word == "patch":
        return NText("patch", "patches", count)
    if word == "spray":
        return NText("spray", "sprays", count)
    if word == "unit":
        return NText("unit", "units", count)
    if word == "pill":
        return NText("pill", "pills", count)
    if word == "lozenge":
        return NText("lozenge", "lozenges", count)
    return NText("suppository", "suppositories", count)


def describe_dosage(dosage: dict[str, Any]) -> str:
    """Say how to take a medicine in plain language; the prescriber's text wins when present (as
    written: it is the prescriber's words, in the prescriber's language)."""
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
    return Joined(parts) if any(parts) else ""


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
    return Joined(lines, "; ") if len(lines) > 1 else (lines[0] if lines else "")


def _number(value: Any) -> Decimal | None:
    """A JSON number as an exact Decimal without a trailing ``.0`` (said in the reader's locale)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return Decimal(format(number.normalize(), "f"))


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


def _said_unit(unit: str, plural: bool) -> str:
    """A dose unit for an amount: a countable one in the reader's words (singular or plural),
    any other ("mg", "mL", the EHR's own word) as written."""
    return _countable(unit, 2 if plural else 1) if unit in _COUNTABLE else unit


def _dose_phrase(dose_and_rate: list[dict[str, Any]]) -> str:
    """Dose as "1 tablet", "10 mL" or "1 to 2 tablets"."""
    for entry in dose_and_rate:
        quantity = _dict(entry.get("doseQuantity"))
        if quantity:
            amount = _number(quantity.get("value"))
            if amount is None:
                continue
            unit = _unit_word(quantity)
            return Text("%(amount)s %(unit)s", amount=amount, unit=_said_unit(unit, amount != 1)) if unit else \
                Text("%(amount)s", amount=amount)
        dose_range = _dict(entry.get("doseRange"))
        if dose_range:
            low, high = _dict(dose_range.get("low")), _dict(dose_range.get("high"))
            low_n, high_n = _number(low.get("value")), _number(high.get("value"))
            unit = _unit_word(high or low)
            if low_n and high_n:
                return Text("%(low)s to %(high)s %(unit)s", low=low_n, high=high_n, unit=_said_unit(unit, True)) if unit \
                    else Text("%(low)s to %(high)s", low=low_n, high=high_n)
            if high_n:
                return Text("up to %(high)s %(unit)s", high=high_n, unit=_said_unit(unit, high_n != 1)) if unit \
                    else Text("up to %(high)s", high=high_n)
            if low_n:
                return Text("at least %(low)s %(unit)s", low=low_n, unit=_said_unit(unit, low_n != 1)) if unit \
                    else Text("at least %(low)s", low=low_n)
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
        parts.append(Text("at %(times)s", times=_join(times)))
    days = [_DAYS[d] for d in _list(repeat.get("dayOfWeek")) if isinstance(d, str) and d in _DAYS]
    if days:
        parts.append(Text("on %(days)s", days=_join(days)))
    return Joined(parts) if any(parts) else ""


def _frequency_phrase(
    frequency: Any, frequency_max: Any, period: Any, period_max: Any, unit: Any
) -> str:
    """"once a day", "3 times a week", "every 8 hours", "every 4 to 6 hours"."""
    if unit not in _PERIODS or period is None:
        return ""
    one, many = _PERIODS[unit]
    period_n = _number(period)
    period_max_n = _number(period_max)
    count = frequency if isinstance(frequency, int) and frequency > 0 else 1
    if period_max_n:
        if count == 1:
            return Text("every %(low)s to %(high)s %(unit)s", low=period_n, high=period_max_n, unit=Text(many))
        return Text("%(times)s every %(low)s to %(high)s %(unit)s", times=_times(count, frequency_max),
                    low=period_n, high=period_max_n, unit=Text(many))
    if period_n is None or period_n != 1:
        span = Text("%(amount)s %(unit)s", amount=period_n, unit=Text(many))
        if count == 1 and not frequency_max:
            return Text("every %(span)s", span=span)
        return Text("%(times)s every %(span)s", times=_times(count, frequency_max), span=span)
    if count == 1 and not frequency_max and unit in ("h", "min", "s"):
        return Text("every %(unit)s", unit=Text(one))
    return Text(_TIMES_PER[unit], times=_times(count, frequency_max))


def _times(count: int, count_max: Any) -> Text:
    """"once", "twice", "3 times", "1 to 2 times"."""
    if isinstance(count_max, int) and count_max > count:
        return Text("%(low)s to %(high)s times", low=count, high=count_max)
    if count == 1:
        return Text("once")
    if count == 2:
        return Text("twice")
    return Text("%(count)s times", count=count)


def _clock(value: str) -> dt.time | str:
    """"08:00:00" -> a time of day (said as the reader's times: "08:00", "8:00")."""
    try:
        hours, minutes = (int(part) for part in value.split(":")[:2])
        return dt.time(hours, minutes)
    except ValueError:
        return value


def _as_needed_phrase(dosage: dict[str, Any]) -> str:
    """"as needed" or "as needed for pain"."""
    concept = _dict(dosage.get("asNeededCodeableConcept"))
    if concept:
        reason = _text(concept.get("text"))
        if not reason:
            reason = next((_text(c.get("display")) for c in map(_dict, _list(concept.get("coding"))) if _text(c.get("display"))), "")
        return Text("as needed for %(reason)s", reason=_lower_words(reason)) if reason else Text("as needed")
    if dosage.get("asNeededBoolean") is True:
        return Text("as needed")
    return ""


def _lower_words(text: str) -> str:
    """Lower-case words for mid-sentence use, keeping acronyms like "GERD"."""
    return " ".join(w if sum(ch.isupper() for ch in w) > 1 else w.lower() for w in text.split())


def _join(items: list[Any]) -> Any:
    """"a", "a and b", "a, b and c" (the "and" in the reader's language)."""
    if len(items) <= 1:
        return items[0] if items else ""
    return Text("%(some)s and %(last)s", some=list(items[:-1]), last=items[-1])
