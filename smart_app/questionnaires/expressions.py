"""FHIRPath evaluation for SDC expressions (fhirpathpy, R4 model), with launch context variables.

Expressions come from the Questionnaire author, so any failure (syntax, unknown function,
undefined variable) is caught and reported as "no value" plus a recorded problem, never a crash.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Callable
from zoneinfo import ZoneInfo

from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models

from .answers import Answer
from .model import Expression, FormItem

log = logging.getLogger(__name__)
_R4 = models["r4"]


@dataclass
class FillContext:
    """What expressions may see: launch resources by SDC launchContext name, and the user's zone.

    `resources` keys are launchContext names such as "patient", "encounter", "user".
    """

    resources: dict[str, dict] = field(default_factory=dict)
    tz: dt.tzinfo = ZoneInfo("UTC")
    problems: list[str] = field(default_factory=list)


@lru_cache(maxsize=1024)
def _compiled(expression: str) -> Callable[..., list]:
    """Compile once per distinct expression text."""
    return fhirpath_compile(expression, _R4)


def run(expr: Expression, base: Any, env: dict[str, Any], ctx: FillContext, where: str) -> list:
    """Evaluate an expression on `base` with `%`-variables `env`; [] and a logged problem on error."""
    try:
        return list(_compiled(expr.expression)(base, env))
    except Exception as error:  # fhirpathpy raises bare Exception for unsupported functions
        ctx.problems.append(f"{where}: {type(error).__name__}")
        log.info("questionnaire expression failed at %s: %s", where, type(error).__name__)
        return []


def environment(ctx: FillContext, resource: dict) -> dict[str, Any]:
    """Base %-variables: %resource (the response being built) and the launch context resources."""
    env: dict[str, Any] = {"resource": resource}
    for name, value in ctx.resources.items():
        env[name] = value
    return env


def add_variables(variables: tuple[Expression, ...], base: Any, env: dict[str, Any], ctx: FillContext, where: str) -> dict[str, Any]:
    """Evaluate `variable` extensions in order; each may use the ones before it."""
    if not variables:
        return env
    env = dict(env)
    for var in variables:
        if var.name:
            env[var.name] = run(var, base, env, ctx, f"{where} variable {var.name}")
    return env


def to_answers(item: FormItem, values: list) -> list[Answer]:
    """Convert FHIRPath results into typed answers for this item; unusable values are dropped."""
    out: list[Answer] = []
    for value in values:
        answer = _convert(item, value)
        if answer is not None:
            out.append(answer)
    return out if item.repeats else out[:1]


def _convert(item: FormItem, value: Any) -> Answer | None:
    """One FHIRPath value -> (suffix, value) for the item's type."""
    kind = item.type
    try:
        if kind == "decimal" and not isinstance(value, (bool, dict)):
            return "Decimal", Decimal(str(value))
        if kind == "integer" and not isinstance(value, (bool, dict)):
            number = Decimal(str(value))
            return ("Integer", int(number)) if number == number.to_integral_value() else None
    except (InvalidOperation, ValueError):
        return None
    if kind == "boolean" and isinstance(value, bool):
        return "Boolean", value
    if kind in ("string", "text") and isinstance(value, (str, int, Decimal)) and not isinstance(value, bool):
        return "String", str(value)
    if kind in ("date", "dateTime", "time") and not isinstance(value, (dict, bool)):
        text = str(value)
        if kind == "date":
            return "Date", text[:10]
        if kind == "time":
            return "Time", text
        return ("DateTime" if "T" in text else "Date"), text
    if kind == "url" and isinstance(value, str):
        return "Uri", value
    if kind == "quantity" and isinstance(value, dict) and "value" in value:
        return "Quantity", {**value, "value": Decimal(str(value["value"]))}
    if kind == "reference" and isinstance(value, dict) and value.get("reference"):
        return "Reference", value
    if kind in ("choice", "open-choice"):
        if isinstance(value, dict) and value.get("code"):
            for option in item.options:
                if option.value_type == "Coding" and option.value.get("code") == value.get("code") and (
                    not value.get("system") or option.value.get("system") == value.get("system")
                ):
                    return "Coding", option.value
            return "Coding", {k: value[k] for k in ("system", "code", "display") if k in value}
        if isinstance(value, str):
            for option in item.options:
                if option.token == value or option.label == value:
                    return option.value_type, option.value
            return ("String", value) if kind == "open-choice" else None
    return None
