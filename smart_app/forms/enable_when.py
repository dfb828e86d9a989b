"""R4 enableWhen semantics: one condition against a question's answers, and any/all combination.

Operator definitions follow the questionnaire-enable-operator code system
(https://hl7.org/fhir/R4/codesystem-questionnaire-enable-operator.html): `=` and ordering
operators hold when at least one answer satisfies them; `!=` holds when no answer is equal
(so it holds for an unanswered question); `exists` compares answer presence to a boolean.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable

from .answers import Answer
from .model import EnableWhen

_NUMERIC = {"Decimal", "Integer"}


def _datetime_key(text: str) -> tuple[Any, int]:
    """Comparable key for date/dateTime strings: (UTC instant or date, precision)."""
    if "T" in text:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc), 4
    parts = text.split("-")
    padded = [int(parts[0]), int(parts[1]) if len(parts) > 1 else 1, int(parts[2]) if len(parts) > 2 else 1]
    start = dt.datetime(padded[0], padded[1], padded[2], tzinfo=dt.timezone.utc)
    return start, len(parts)


def _comparable(suffix: str, value: Any, cond: EnableWhen) -> tuple[Any, Any] | None:
    """Left/right values that Python can compare for this condition; None if incomparable."""
    want_suffix, want = cond.answer_type, cond.answer
    if suffix in _NUMERIC and want_suffix in _NUMERIC:
        return Decimal(str(value)), Decimal(str(want))
    if suffix == "Quantity" and want_suffix == "Quantity":
        if (value.get("code") or value.get("unit")) != (want.get("code") or want.get("unit")):
            return None
        return Decimal(str(value.get("value"))), Decimal(str(want.get("value")))
    if suffix in ("Date", "DateTime") and want_suffix in ("Date", "DateTime"):
        left, lp = _datetime_key(str(value))
        right, rp = _datetime_key(str(want))
        if lp != rp:
            return None  # different precisions are not comparable (FHIRPath semantics)
        return left, right
    if suffix == want_suffix and suffix in ("String", "Time", "Uri"):
        return str(value), str(want)
    return None


def _equal(suffix: str, value: Any, cond: EnableWhen) -> bool:
    """Equality per type; Codings match on system+code (code alone if the condition has no system)."""
    want_suffix, want = cond.answer_type, cond.answer
    if want_suffix == "Coding":
        if suffix != "Coding" or not isinstance(value, dict) or not isinstance(want, dict):
            return False
        if want.get("system") and value.get("system") != want.get("system"):
            return False
        return value.get("code") == want.get("code")
    if want_suffix == "Boolean":
        return suffix == "Boolean" and value is want
    if want_suffix == "Reference":
        return suffix == "Reference" and value.get("reference") == want.get("reference")
    pair = _comparable(suffix, value, cond)
    return pair is not None and pair[0] == pair[1]


def condition_holds(cond: EnableWhen, answers: Iterable[Answer]) -> bool:
    """Whether one enableWhen condition holds for the question's (enabled) answers."""
    answers = [a for a in answers if a is not None]
    op = cond.operator
    if op == "exists":
        return bool(answers) == (cond.answer is True)
    if op == "=":
        return any(_equal(s, v, cond) for s, v in answers)
    if op == "!=":
        return not any(_equal(s, v, cond) for s, v in answers)
    for suffix, value in answers:
        pair = _comparable(suffix, value, cond)
        if pair is None:
            continue
        left, right = pair
        if (op == ">" and left > right) or (op == "<" and left < right) or (
            op == ">=" and left >= right) or (op == "<=" and left <= right):
            return True
    return False


def combine(results: list[bool], behavior: str) -> bool:
    """enableBehavior: `all` needs every condition, `any` (the default) needs one."""
    return all(results) if behavior == "all" else any(results)
