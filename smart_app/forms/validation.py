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

from smart_app.text import N_, NText, Text

from .answers import Answer, AnswerError, parse_date, parse_decimal
from .model import FormItem
from .units import unit_words

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


def _human_size(size: int) -> Text:
    """Bytes in words ("5 MB"; the number in the reader's locale)."""
    return Text("%(n)s MB", n=size // (1024 * 1024)) if size >= 1024 * 1024 else Text("%(n)s KB", n=max(1, size // 1024))


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


def _shown(value: Any) -> Any:
    """A bound as a message value: a number stays a number (said in the reader's locale), a FHIR
    date becomes a date (said as the reader's dates), anything else as it is."""
    if isinstance(value, Decimal):
        return Decimal(format(value, "f"))
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


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
    """A unit as people read it ("kg", "mmHg", "lb"; never a UCUM code)."""
    return unit_words(unit)


def _rounded(value: Decimal) -> Decimal:
    """A converted bound, to one decimal place, without trailing zeros."""
    text = format(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), "f")
    return Decimal(text[:-2] if text.endswith(".0") else text)


def _range_message(item: FormItem, low: Any, high: Any, chosen: dict[str, Any] | None) -> Text:
    """ "Enter a value between 20 and 300 kg." (and in the person's unit too when they chose another:
    "... (44.1 to 661.4 lb)"). Whole sentences with placeholders, so each language words its own."""
    unit = _bound_unit(item)
    words = _unit_words(unit)
    shown_low, shown_high = (_shown(low) if low is not None else None), (_shown(high) if high is not None else None)
    code_from, code_to = (unit or {}).get("code"), (chosen or {}).get("code")
    if chosen and words and code_from and code_to and code_from != code_to:
        other_low = convert(low, code_from, code_to) if low is not None else None
        other_high = convert(high, code_from, code_to) if high is not None else None
        other_unit = _unit_words(chosen) or _unit_words({"code": code_to})
        if (low is None or other_low is not None) and (high is None or other_high is not None) and other_unit:
            if other_low is not None and other_high is not None:
                return Text("Enter a value between %(low)s and %(high)s %(unit)s (%(other_low)s to %(other_high)s %(other_unit)s).",
                            low=shown_low, high=shown_high, unit=words, other_low=_rounded(other_low),
                            other_high=_rounded(other_high), other_unit=other_unit)
            if other_low is not None:
                return Text("Enter a value of at least %(low)s %(unit)s (%(other_low)s %(other_unit)s).",
                            low=shown_low, unit=words, other_low=_rounded(other_low), other_unit=other_unit)
            if other_high is not None:
                return Text("Enter a value of at most %(high)s %(unit)s (%(other_high)s %(other_unit)s).",
                            high=shown_high, unit=words, other_high=_rounded(other_high), other_unit=other_unit)
    if low is not None and high is not None:
        return (Text("Enter a value between %(low)s and %(high)s %(unit)s.", low=shown_low, high=shown_high, unit=words)
                if words else Text("Enter a value between %(low)s and %(high)s.", low=shown_low, high=shown_high))
    if low is not None:
        return (Text("Enter a value of at least %(low)s %(unit)s.", low=shown_low, unit=words) if words
                else Text("Enter a value of at least %(low)s.", low=shown_low))
    return (Text("Enter a value of at most %(high)s %(unit)s.", high=shown_high, unit=words) if words
            else Text("Enter a value of at most %(high)s.", high=shown_high))


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
        return format(middle.quantize(Decimal(1), rounding=ROUND_HALF_UP), "f") if item.type == "integer" else str(_rounded(middle))
    return None


_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", ",": "."})


def _either(words: list[str]) -> str:
    """ "O", or "O or l" (the "or" in the reader's language)."""
    return words[0] if len(words) == 1 else Text("%(some)s or %(last)s", some=words[:-1], last=words[-1])


def number_message(item: FormItem, raw: str, parse_error: str) -> str:
    """A number that did not parse, worded for this field: the unit, a fitting example, and a
    letter typed for a digit ("12O" -> "use the number 0, not the letter O"). Examples are written
    as the field accepts them (a point for decimals), in every language."""
    text = raw.strip()
    if item.type not in ("integer", "decimal", "quantity") or _parses(text, item.type):
        return parse_error  # not a number field, or the number is fine and the problem is elsewhere (the unit)
    example = example_value(item)
    unit = _unit_words(_bound_unit(item)) if item.type != "quantity" else ""
    looks_like = text.translate(_LOOKALIKES)
    if looks_like != text and _parses(looks_like, item.type):
        wrong = sorted({c for c in text if c in "OolI"})
        if wrong:
            letters = _either([Text("the letter %(letter)s", letter=c) for c in wrong])
            digits = _either(sorted({c.translate(_LOOKALIKES) for c in wrong}))
            if example:
                return Text("Use the number %(digits)s, not %(letters)s (for example %(example)s).",
                            digits=digits, letters=letters, example=example)
            return Text("Use the number %(digits)s, not %(letters)s.", digits=digits, letters=letters)
        if "," in text:
            return (Text("Use a point for decimals, for example %(example)s.", example=example) if example
                    else Text("Use a point for decimals."))
    if example is None:
        return parse_error  # nothing fits better than the general example
    if item.type == "integer":
        return (Text("Enter a whole number in %(unit)s, for example %(example)s.", unit=unit, example=example) if unit
                else Text("Enter a whole number, for example %(example)s.", example=example))
    return (Text("Enter a number in %(unit)s, for example %(example)s.", unit=unit, example=example) if unit
            else Text("Enter a number, for example %(example)s.", example=example))


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
            return [N_("A date of birth cannot be in the future.")]
        if day < _years_before(today, OLDEST_YEARS):
            # Years are words here, not quantities: never "1,896".
            return [Text("Check the year: a date of birth should be after %(year)s.",
                         year=str(_years_before(today, OLDEST_YEARS).year))]
        return []
    earliest, latest = dt.date(EARLIEST_YEAR, 1, 1), _years_before(today, -FURTHEST_YEARS)
    if not earliest <= day <= latest:
        return [Text("Check the year: enter a date between %(first)s and %(last)s.",
                     first=str(earliest.year), last=str(latest.year))]
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
            messages.append(NText("Give at least %(num)s answer.", "Give at least %(num)s answers.", item.min_occurs))
        if item.max_occurs is not None and occurs > item.max_occurs:
            messages.append(NText("Give at most %(num)s answer.", "Give at most %(num)s answers.", item.max_occurs))
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
            add(Text("Enter a date on or after %(date)s.", date=_shown(low)))
        if is_date and too_high:
            add(Text("Enter a date on or before %(date)s.", date=_shown(high)))
        if not is_date and (too_low or too_high):
            add(_range_message(item, low, high, chosen))
        if suffix in ("Decimal", "Quantity") and item.max_decimal_places is not None:
            number = value if suffix == "Decimal" else value.get("value")
            exponent = Decimal(str(number)).as_tuple().exponent
            if isinstance(exponent, int) and -exponent > item.max_decimal_places:
                add(NText("Use at most %(num)s decimal place.", "Use at most %(num)s decimal places.",
                          item.max_decimal_places))
        if suffix in ("String", "Uri"):
            text = str(value)
            if item.max_length is not None and len(text) > item.max_length:
                add(NText("Enter at most %(num)s character.", "Enter at most %(num)s characters.", item.max_length))
            if item.min_length is not None and len(text) < item.min_length:
                add(NText("Enter at least %(num)s character.", "Enter at least %(num)s characters.", item.min_length))
            pattern = _pattern(item.regex) if item.regex else None
            if pattern is not None and (len(text) > MAX_REGEX_INPUT or not pattern.fullmatch(text)):
                add(Text("This answer is not in the expected format. Expected format: %(format)s.",
                         format=item.entry_format) if item.entry_format
                    else N_("This answer is not in the expected format."))
        if suffix == "Attachment":
            size = int(value.get("size") or 0)
            if size > item.max_size:
                add(Text("This file is larger than the limit of %(size)s.", size=_human_size(item.max_size)))
            if item.mime_types and value.get("contentType") not in item.mime_types:
                add(Text("This type of file is not accepted. Accepted types: %(types)s.", types=list(item.mime_types)))
    return messages
