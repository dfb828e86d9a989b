"""Server-side validation of one enabled item instance's typed answers, in plain language.

Checks: required, minValue/maxValue (said with the unit, and checked in the bound's unit when the
person chose another, e.g. lb against kg bounds), dates in a sensible range (a birth date never in
the future), minLength/maxLength, regex, maxDecimalPlaces, minOccurs/maxOccurs, attachment size and
type. Parse errors come from answers.py; `number_message` words them for the field (its unit, an
example that fits, a letter O typed for a zero).
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import re2

from smart_app.text import N_

from .answers import Answer, AnswerError, parse_date, parse_decimal
from .model import FormItem

MAX_REGEX_INPUT = 10_000  # bound regex work on user input


MAX_PATTERN = 500


def _re2_options() -> re2.Options:
    """RE2 options: UTF-8 text, and no stderr noise for patterns RE2 cannot run."""
    options = re2.Options()
    options.log_errors = False
    return options


_OPTIONS = _re2_options()


@lru_cache(maxsize=256)
def _pattern(regex: str) -> Any:
    """Compile an author's regex once with RE2, whose matching time is linear in the input
    (no backtracking, so `^(a|a)*$` cannot stall a request thread); None when too long or not
    expressible in RE2 (backreferences, lookaround): then it is not enforced."""
    if len(regex) > MAX_PATTERN:
        return None
    try:
        return re2.compile(regex, _OPTIONS)
    except re2.error:
        return None


def _limit(bound: tuple[str, Any] | None, item: FormItem) -> Any:
    """A typed bound comparable with the item's answers, or None."""
    if bound is None:
        return None
    suffix, raw = bound
    try:
        if suffix in ("Decimal", "Integer") or (suffix == "Quantity" and isinstance(raw, dict)):
            number = raw.get("value") if isinstance(raw, dict) else raw
            return parse_decimal(str(number))
        if suffix in ("Date", "DateTime"):
            return parse_date(str(raw)[:10])
    except AnswerError:
        return None
    return None


def _human_size(size: int) -> str:
    """Bytes in words."""
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def _comparable(answer: Answer) -> Any:
    """The part of an answer that min/max compare against."""
    suffix, value = answer
    if suffix in ("Decimal", "Integer"):
        return Decimal(str(value))
    if suffix == "Quantity":
        return Decimal(str(value.get("value")))
    if suffix in ("Date", "DateTime"):
        return str(value)[:10]
    return None


def _display(value: Any) -> str:
    """A bound as people read it."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


UCUM = "http://unitsofmeasure.org"
# Factors to a base unit per dimension (UCUM codes): only conversions a patient form needs.
_TO_BASE: dict[str, tuple[str, Decimal]] = {
    "kg": ("mass", Decimal(1)), "g": ("mass", Decimal("0.001")), "[lb_av]": ("mass", Decimal("0.45359237")),
    "[oz_av]": ("mass", Decimal("0.028349523125")), "[stone_av]": ("mass", Decimal("6.35029318")),
    "cm": ("length", Decimal(1)), "m": ("length", Decimal(100)), "mm": ("length", Decimal("0.1")),
    "[in_i]": ("length", Decimal("2.54")), "[ft_i]": ("length", Decimal("30.48")),
}
# A typical value per UCUM unit, for "for example ..." when the form gives no entryFormat.
_EXAMPLES = {"mm[Hg]": "120", "kg": "70", "[lb_av]": "154", "g": "3500", "cm": "170", "m": "1.7", "[in_i]": "67",
             "[ft_i]": "5", "Cel": "37.0", "[degF]": "98.6", "/min": "72", "{beats}/min": "72", "%": "98",
             "mg/dL": "100", "mmol/L": "5.5", "kg/m2": "24", "h": "8", "d": "3", "wk": "2", "a": "45"}
OLDEST_YEARS = 130  # a date of birth further back than this is a typing slip
FURTHEST_YEARS = 10  # other dates: further ahead than this is a typing slip
EARLIEST_YEAR = 1900
BIRTH_DATE_CODES = {("http://loinc.org", "21112-8")}


def convert(value: Decimal, from_code: str, to_code: str) -> Decimal | None:
    """A quantity in another unit of the same dimension (kg <-> lb, cm <-> in), or None when not convertible."""
    if from_code == to_code:
        return value
    source, target = _TO_BASE.get(from_code), _TO_BASE.get(to_code)
    if source is None or target is None or source[0] != target[0]:
        return None
    return value * source[1] / target[1]


def _bound_unit(item: FormItem) -> dict[str, Any] | None:
    """The unit the form's min/max are in: the fixed questionnaire-unit, else the first unitOption."""
    return item.unit or (item.unit_options[0] if item.unit_options else None)


def _unit_words(unit: dict[str, Any] | None) -> str:
    """A unit as people read it ("kg", "mmHg")."""
    return str(unit.get("display") or unit.get("code") or "") if unit else ""


def _rounded(value: Decimal) -> str:
    """A converted bound, to one decimal place, without trailing zeros."""
    text = format(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), "f")
    return text[:-2] if text.endswith(".0") else text


def _range_message(item: FormItem, low: Any, high: Any, chosen: dict[str, Any] | None) -> str:
    """ "Enter a value between 20 and 300 kg" (and in the person's unit too when they chose another)."""
    unit = _bound_unit(item)
    words = _unit_words(unit)
    suffix = f" {words}" if words else ""
    if low is not None and high is not None:
        text = f"Enter a value between {_display(low)} and {_display(high)}{suffix}"
    elif low is not None:
        text = f"Enter a value of at least {_display(low)}{suffix}"
    else:
        text = f"Enter a value of at most {_display(high)}{suffix}"
    code_from, code_to = (unit or {}).get("code"), (chosen or {}).get("code")
    if code_from and code_to and code_from != code_to:
        bounds = [convert(b, code_from, code_to) for b in (low, high) if b is not None]
        if all(b is not None for b in bounds):
            joined = " and ".join(_rounded(b) for b in bounds if b is not None)
            text += f" ({joined} {chosen.get('unit') or code_to})" if chosen else ""
    return text + "."


def example_value(item: FormItem) -> str | None:
    """An example answer that fits the field: its entryFormat, else one typical of its unit, else one
    inside its bounds; None when nothing fits better than no example."""
    if item.entry_format:
        return item.entry_format
    unit = _bound_unit(item)
    if unit and unit.get("code") in _EXAMPLES:
        return _EXAMPLES[unit["code"]]
    low, high = _limit(item.min_value, item), _limit(item.max_value, item)
    if isinstance(low, Decimal) and isinstance(high, Decimal):
        middle = (low + high) / 2
        return format(middle.quantize(Decimal(1), rounding=ROUND_HALF_UP), "f") if item.type == "integer" else _rounded(middle)
    return None


_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", ",": "."})


def number_message(item: FormItem, raw: str, parse_error: str) -> str:
    """A number that did not parse, worded for this field: the unit, a fitting example, and a
    letter typed for a digit ("12O" -> "use the number 0, not the letter O")."""
    text = raw.strip()
    if item.type not in ("integer", "decimal", "quantity") or _parses(text, item.type):
        return parse_error  # not a number field, or the number is fine and the problem is elsewhere (the unit)
    example = example_value(item)
    unit = _unit_words(_bound_unit(item)) if item.type != "quantity" else ""
    kind = "a whole number" if item.type == "integer" else "a number"
    looks_like = text.translate(_LOOKALIKES)
    if looks_like != text and _parses(looks_like, item.type):
        wrong = sorted({c for c in text if c in "OolI"})
        if wrong:
            letters = " or ".join(f"the letter {c}" for c in wrong)
            digits = " or ".join(sorted({c.translate(_LOOKALIKES) for c in wrong}))
            return f"Use the number {digits}, not {letters}" + (f" (for example {example})." if example else ".")
        if "," in text:
            return "Use a point for decimals" + (f", for example {example}." if example else ".")
    if example is None:
        return parse_error  # nothing fits better than the general example
    unit_part = f" in {unit}" if unit else ""
    return f"Enter {kind}{unit_part}, for example {example}."


def _parses(text: str, kind: str) -> bool:
    """True when `text` is a valid number of this kind."""
    from .answers import DECIMAL_RE, INTEGER_RE

    return bool((INTEGER_RE if kind == "integer" else DECIMAL_RE).fullmatch(text))


def is_birth_date(item: FormItem) -> bool:
    """A date of birth: by its code, its definition, its prefill from the patient, or its words."""
    if item.type != "date":
        return False
    if any((c.get("system"), c.get("code")) in BIRTH_DATE_CODES for c in item.code):
        return True
    if item.definition and item.definition.endswith("Patient.birthDate"):
        return True
    if item.initial_expression is not None and "birthDate" in item.initial_expression.expression:
        return True
    words = f"{item.link_id} {item.text or ''}".lower()
    return "birth" in words and "date" in words or "date of birth" in words


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same day `years` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _date_messages(item: FormItem, text: str, today: dt.date) -> list[str]:
    """A date outside a sensible range, unless the form gives its own bounds."""
    if item.min_value is not None or item.max_value is not None:
        return []
    try:
        day = dt.date.fromisoformat((text + "-01-01")[:10] if len(text) < 10 else text[:10])
    except ValueError:
        return []
    if is_birth_date(item):
        if day > today:
            return ["A date of birth cannot be in the future."]
        if day < _years_before(today, OLDEST_YEARS):
            return [f"Check the year: a date of birth should be after {_years_before(today, OLDEST_YEARS).year}."]
        return []
    earliest, latest = dt.date(EARLIEST_YEAR, 1, 1), _years_before(today, -FURTHEST_YEARS)
    if not earliest <= day <= latest:
        return [f"Check the year: enter a date between {earliest.year} and {latest.year}."]
    return []


def validate_answers(item: FormItem, answers: list[Answer], count: int | None = None,
                     today: dt.date | None = None) -> list[str]:
    """Messages for one enabled item instance (empty when valid); `today` is the person's date (dates' ranges)."""
    messages: list[str] = []
    occurs = count if count is not None else len(answers)
    if item.required and occurs == 0:
        if item.type == "group":
            return [N_("Answer at least one question in this section.")]
        return [N_("This question needs an answer.")]
    if not item.repeats and item.type != "group" and len(answers) > 1:
        messages.append(N_("Give only one answer."))
    if item.repeats and occurs:
        if item.min_occurs is not None and occurs < item.min_occurs:
            messages.append(f"Give at least {item.min_occurs} answers.")
        if item.max_occurs is not None and occurs > item.max_occurs:
            messages.append(f"Give at most {item.max_occurs} answers.")
    low, high = _limit(item.min_value, item), _limit(item.max_value, item)
    seen: set[str] = set()

    def add(message: str) -> None:
        """Record a message once per item, however many answers trigger it."""
        if message not in seen:
            seen.add(message)
            messages.append(message)

    for answer in answers:
        suffix, value = answer
        comparable = _comparable(answer)
        is_date = suffix in ("Date", "DateTime")
        if is_date:
            for message in _date_messages(item, str(value), today or dt.date.today()):
                add(message)
        chosen = value if suffix == "Quantity" else None
        if chosen is not None and comparable is not None:
            # Bounds are in the form's unit: a quantity in another unit is compared after converting it.
            bound_code, answer_code = (_bound_unit(item) or {}).get("code"), chosen.get("code")
            if bound_code and answer_code and bound_code != answer_code:
                comparable = convert(comparable, answer_code, bound_code)
        too_low = comparable is not None and low is not None and type(comparable) is type(low) and comparable < low
        too_high = comparable is not None and high is not None and type(comparable) is type(high) and comparable > high
        if is_date and too_low:
            add(f"Enter a date on or after {low}.")
        if is_date and too_high:
            add(f"Enter a date on or before {high}.")
        if not is_date and (too_low or too_high):
            add(_range_message(item, low, high, chosen))
        if suffix in ("Decimal", "Quantity") and item.max_decimal_places is not None:
            number = value if suffix == "Decimal" else value.get("value")
            exponent = Decimal(str(number)).as_tuple().exponent
            if isinstance(exponent, int) and -exponent > item.max_decimal_places:
                places = item.max_decimal_places
                add(f"Use at most {places} decimal place{'s' if places != 1 else ''}.")
        if suffix in ("String", "Uri"):
            text = str(value)
            if item.max_length is not None and len(text) > item.max_length:
                add(f"Enter at most {item.max_length} characters.")
            if item.min_length is not None and len(text) < item.min_length:
                add(f"Enter at least {item.min_length} characters.")
            pattern = _pattern(item.regex) if item.regex else None
            if pattern is not None and (len(text) > MAX_REGEX_INPUT or not pattern.fullmatch(text)):
                hint = f" Expected format: {item.entry_format}." if item.entry_format else ""
                add(N_("This answer is not in the expected format.") + hint)
        if suffix == "Attachment":
            size = int(value.get("size") or 0)
            if size > item.max_size:
                add(f"This file is larger than the limit of {_human_size(item.max_size)}.")
            if item.mime_types and value.get("contentType") not in item.mime_types:
                add("This type of file is not accepted. Accepted types: " + ", ".join(item.mime_types) + ".")
    return messages
