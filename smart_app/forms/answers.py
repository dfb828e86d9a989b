"""Form input (strings, uploads) -> typed FHIR answer values, by the FHIR R4 primitive grammars.

An answer is a `(suffix, value)` pair, where suffix names `QuestionnaireResponse.item.answer.value[x]`
(e.g. ("Decimal", Decimal("70.5")), ("Coding", {...})). Decimals stay `Decimal` end to end: no
float ever touches a number the user typed.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from smart_app.text import N_

from .model import FormItem, coding_token

UTC = ZoneInfo("UTC")  # the default clock a typed date-time is read on

Answer = tuple[str, Any]

# FHIR R4 primitive grammars (datatypes.html#primitive).
DECIMAL_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
INTEGER_RE = re.compile(r"-?(0|[1-9][0-9]*)")
DATE_RE = re.compile(r"([0-9]{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?")
TIME_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9])(\.[0-9]{1,9})?)?")
DATETIME_RE = re.compile(
    r"([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))"
    r"T([01][0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9])(\.[0-9]{1,9})?)?"
    r"(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)?"
)
URL_RE = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)
REFERENCE_RE = re.compile(r"([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})")
INT32 = (-(2**31), 2**31 - 1)
MAX_TEXT = 100_000


class AnswerError(ValueError):
    """The input does not parse as this item's type; str(error) is a plain-language message."""


def parse_decimal(text: str) -> Decimal:
    """Exact Decimal by the FHIR decimal grammar, keeping the precision typed."""
    text = text.strip()
    if not DECIMAL_RE.fullmatch(text):
        raise AnswerError(N_("Enter a number, for example 72 or 72.5."))
    return Decimal(text)


def parse_integer(text: str) -> int:
    """A 32-bit FHIR integer."""
    text = text.strip()
    if not INTEGER_RE.fullmatch(text):
        raise AnswerError(N_("Enter a whole number, for example 3."))
    value = int(text)
    if not INT32[0] <= value <= INT32[1]:
        raise AnswerError(N_("This number is too large."))
    return value


def parse_date(text: str) -> str:
    """A FHIR date (YYYY, YYYY-MM or YYYY-MM-DD) that exists on the calendar."""
    text = text.strip()
    match = DATE_RE.fullmatch(text)
    if not match or match.group(1) == "0000":
        raise AnswerError(N_("Enter a date as YYYY-MM-DD, for example 2024-03-31."))
    if match.group(5):
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            raise AnswerError(N_("This date does not exist; check the day and month.")) from None
    return text


def parse_time(text: str) -> str:
    """A FHIR time hh:mm:ss (seconds added when a browser sends hh:mm)."""
    text = text.strip()
    match = TIME_RE.fullmatch(text)
    if not match:
        raise AnswerError(N_("Enter a time as HH:MM, for example 14:30."))
    return text if match.group(3) else text + ":00"


def parse_datetime(text: str, tz: dt.tzinfo) -> str:
    """A FHIR dateTime; a local date-time gets the explicit offset of `tz` at that moment."""
    text = text.strip()
    if DATE_RE.fullmatch(text):
        return parse_date(text)
    match = DATETIME_RE.fullmatch(text)
    if not match:
        raise AnswerError(N_("Enter a date and time, for example 2024-03-31 14:30."))
    try:
        dt.date.fromisoformat(match.group(1))
    except ValueError:
        raise AnswerError(N_("This date does not exist; check the day and month.")) from None
    if match.group(9):
        return text
    seconds = match.group(6) or ":00"
    naive = dt.datetime.fromisoformat(f"{match.group(1)}T{match.group(4)}:{match.group(5)}{seconds}")
    offset = naive.replace(tzinfo=tz).utcoffset() or dt.timedelta(0)
    total = int(offset.total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"{match.group(1)}T{match.group(4)}:{match.group(5)}{seconds}{sign}{hours:02d}:{minutes:02d}"


def _text(text: str, item: FormItem) -> str:
    """Free text, trimmed; length limits are validation's job."""
    if len(text) > MAX_TEXT:
        raise AnswerError(N_("This answer is too long."))
    # Browsers post textarea line breaks as CRLF; count and store them as one character.
    text = text.replace("\r\n", "\n")
    return text.strip() if item.type != "text" else text.strip("\n ")


def _option_answer(token: str, item: FormItem) -> Answer | None:
    """The option whose token matches, as a typed answer."""
    for option in item.options:
        if option.token == token:
            return option.value_type, option.value
    return None


def _listed_answer(text: str, item: FormItem) -> Answer | None:
    """The option a typed text names (its label or code, ignoring case): a pick from a suggestion list."""
    wanted = " ".join(text.split()).casefold()
    for option in item.options:
        code = option.value.get("code") if isinstance(option.value, dict) else None
        if wanted and (option.label.casefold() == wanted or (isinstance(code, str) and code.casefold() == wanted)):
            return option.value_type, option.value
    return None


def _typed_choice(text: str, item: FormItem) -> Answer:
    """Free text on a coded question: a listed value keeps its Coding; `choice` never becomes valueString.

    R4 allows valueString only on open-choice; a `choice` whose list is unavailable records the
    text as a Coding with only a display (a Coding's elements are all optional), so the
    response stays valid and nothing typed is lost.
    """
    listed = _listed_answer(text, item)
    if listed:
        return listed
    typed = _text(text, item)
    if item.type == "open-choice":
        return "String", typed
    return "Coding", {"display": typed}


def _quantity(raw: dict[str, Any], item: FormItem) -> Answer:
    """A Quantity from a value and a unit token (unitOption or the fixed questionnaire-unit)."""
    value = parse_decimal(str(raw.get("value") or ""))
    units = list(item.unit_options) or ([item.unit] if item.unit else [])
    token = str(raw.get("unit") or "")
    unit = next((u for u in units if coding_token(u) == token), None)
    if unit is None and len(units) == 1:
        unit = units[0]
    if units and unit is None:
        raise AnswerError(N_("Choose a unit."))
    quantity: dict[str, Any] = {"value": value}
    if unit:
        quantity["unit"] = unit.get("display") or unit.get("code")
        if unit.get("system"):
            quantity["system"] = unit["system"]
        if unit.get("code"):
            quantity["code"] = unit["code"]
    return "Quantity", quantity


def _reference(text: str, item: FormItem) -> Answer:
    """A relative literal reference `Type/id`, restricted to the allowed resource types."""
    chosen = _option_answer(text, item)
    if chosen:
        return chosen
    match = REFERENCE_RE.fullmatch(text.strip())
    if not match:
        raise AnswerError(N_("Enter a reference such as Practitioner/123."))
    if item.reference_types and match.group(1) not in item.reference_types:
        allowed = ", ".join(item.reference_types)
        raise AnswerError(f"This must refer to one of: {allowed}.")
    return "Reference", {"reference": text.strip()}


def parse_answer(item: FormItem, raw: Any, tz: dt.tzinfo = UTC) -> Answer | None:
    """Parse one raw input for this item; None when empty; AnswerError when malformed."""
    if isinstance(raw, dict):
        from .feet_inches import answer as height_answer, is_feet_and_inches

        if is_feet_and_inches(raw) and item.type in ("decimal", "integer", "quantity"):
            return height_answer(item, raw)
        if item.type == "quantity":
            return None if not str(raw.get("value") or "").strip() else _quantity(raw, item)
        if item.type == "attachment":
            return "Attachment", raw
        raise AnswerError(N_("This answer is not in a form we can read."))
    text = str(raw)
    if not text.strip():
        return None
    kind = item.type
    if kind == "boolean":
        if text not in ("true", "false"):
            raise AnswerError(N_("Choose yes or no."))
        return "Boolean", text == "true"
    if kind == "decimal":
        return "Decimal", parse_decimal(text)
    if kind == "integer":
        return "Integer", parse_integer(text)
    if kind == "date":
        return "Date", parse_date(text)
    if kind == "dateTime":
        return "DateTime", parse_datetime(text, tz)
    if kind == "time":
        return "Time", parse_time(text)
    if kind in ("string", "text"):
        return "String", _text(text, item)
    if kind == "url":
        if not URL_RE.fullmatch(text.strip()):
            raise AnswerError(N_("Enter a web address starting with https:// or http://."))
        return "Uri", text.strip()
    if kind == "quantity":
        return _quantity({"value": text}, item)
    if kind == "reference":
        return _reference(text, item)
    if kind in ("choice", "open-choice"):
        chosen = _option_answer(text, item)
        if chosen:
            return chosen
        if kind == "open-choice" or item.options_note or not item.options or item.item_control == "autocomplete":
            return _typed_choice(text, item)
        raise AnswerError(N_("Choose one of the listed answers."))
    if kind == "attachment":
        raise AnswerError(N_("Attach a file."))
    return None


def answer_to_token(item: FormItem, answer: Answer) -> Any:
    """The raw form value that re-renders a typed answer (inverse of parse_answer)."""
    suffix, value = answer
    for option in item.options:
        if option.value_type == suffix and option.value == value:
            return option.token
    if suffix == "Boolean":
        return "true" if value else "false"
    if suffix == "Quantity":
        unit = {k: value.get(k) for k in ("system", "code") if value.get(k)}
        return {"value": str(value.get("value", "")), "unit": coding_token(unit) if unit else ""}
    if suffix == "Coding":
        return coding_token(value) if value.get("code") else str(value.get("display") or "")
    if suffix == "Reference":
        return value.get("reference", "")
    if suffix == "Attachment":
        return value
    if suffix == "DateTime" and item.type == "dateTime" and len(value) > 10:
        return value
    return str(value)
