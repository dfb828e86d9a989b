"""Server-side validation of one enabled item instance's typed answers, in plain language.

Checks: required, minValue/maxValue, minLength/maxLength, regex, maxDecimalPlaces,
minOccurs/maxOccurs, attachment size and type. Parse errors come from answers.py.
"""
from __future__ import annotations

from decimal import Decimal
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


def validate_answers(item: FormItem, answers: list[Answer], count: int | None = None) -> list[str]:
    """Messages for one enabled item instance (empty when valid)."""
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
        if comparable is not None and low is not None and type(comparable) is type(low) and comparable < low:
            add(f"Enter a date on or after {low}." if is_date else f"Enter a value of at least {_display(low)}.")
        if comparable is not None and high is not None and type(comparable) is type(high) and comparable > high:
            add(f"Enter a date on or before {high}." if is_date else f"Enter a value of at most {_display(high)}.")
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
