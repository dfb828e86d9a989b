"""SDC expression evaluation: FHIRPath (fhirpathpy, R4 model) and x-fhir-query, in the SDC environment.

The environment (https://hl7.org/fhir/uv/sdc/expressions.html#fhirpath-supplements):
%resource and %rootResource (the response being built), %questionnaire, %context (the
item's response node), %qitem (the item's definition), and every launchContext variable under
the name the form declares, matched case-insensitively to patient/encounter/user/location/study.
The SDC functions weight() and ordinal() read an answer's ordinalValue/itemWeight.

Expressions come from the Questionnaire author, so any failure (syntax, unknown function,
undefined variable) is caught and recorded against the item's linkId (FillContext.failures),
never a crash. An x-fhir-query goes only through FillContext.fhir_query, which the caller binds
to the launch's own FHIR server; without one, the query counts as a failure.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Callable, Mapping
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models

from .answers import Answer
from .model import MAX_OPTIONS, STANDARD_LAUNCH_CONTEXT, Expression, FormItem, Option, coding_token, value_token

log = logging.getLogger(__name__)
_R4 = models["r4"]


@dataclass
class FillContext:
    """What expressions may see: launch resources by SDC launchContext name, and the user's zone.

    `resources` keys are launchContext names such as "patient", "encounter", "user".
    """

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    tz: dt.tzinfo = ZoneInfo("UTC")
    problems: list[str] = field(default_factory=list)
    # linkId ("" for the form's own variables) -> what failed there; the engine shows and audits these
    failures: dict[str, str] = field(default_factory=dict)
    # Runs a relative FHIR search on the launch's own server and returns a searchset Bundle; None: no queries.
    fhir_query: Callable[[str], dict[str, Any]] | None = None
    questionnaire: dict[str, Any] | None = None  # %questionnaire (set by the engine)
    weights: dict[str, Any] = field(default_factory=dict)  # option token -> ordinalValue, for weight()
    launch_names: tuple[str, ...] = ()  # the form's declared launchContext names
    _queries: dict[str, list[Any]] = field(default_factory=dict, repr=False)  # each query runs once per context


# The default is read-only: no evaluation may add weights that another would then see.
_WEIGHTS: ContextVar[Mapping[str, Any]] = ContextVar("questionnaire_weights", default=MappingProxyType({}))


def _weight(inputs: list[Any]) -> list[Any]:
    """SDC weight()/ordinal(): the ordinalValue/itemWeight of each Coding in the input, from the form's options."""
    weights = _WEIGHTS.get()
    out = []
    for value in inputs:
        if isinstance(value, dict) and value.get("code") is not None:
            found = weights.get(coding_token(value))
            if found is None:  # a Coding without its system still matches by code
                found = next((w for t, w in weights.items() if t.endswith("|" + str(value["code"]))), None)
            if found is not None:
                out.append(found)
    return out


_FUNCTIONS = {"userInvocationTable": {
    "weight": {"fn": _weight, "arity": {0: []}},
    "ordinal": {"fn": _weight, "arity": {0: []}},
}}


@lru_cache(maxsize=1024)
def _compiled(expression: str) -> Callable[..., list[Any]]:
    """Compile once per distinct expression text."""
    return fhirpath_compile(expression, _R4, _FUNCTIONS)


_EMBEDDED = re.compile(r"\{\{(.+?)\}\}")


def run(expr: Expression, base: Any, env: dict[str, Any], ctx: FillContext, where: str, link_id: str = "") -> list[Any]:
    """Evaluate an expression on `base` with `%`-variables `env`; [] and a recorded failure on error."""
    try:
        if expr.is_query:
            return _query(expr.expression, base, env, ctx)
        token = _WEIGHTS.set(ctx.weights)
        try:
            return list(_compiled(expr.expression)(base, env))
        finally:
            _WEIGHTS.reset(token)
    except Exception as error:  # fhirpathpy raises bare Exception for unsupported functions
        ctx.problems.append(f"{where}: {type(error).__name__}")
        ctx.failures.setdefault(link_id, where)
        # Our own QueryRefused reasons are safe to log; a library's message might quote answers.
        reason = str(error) if isinstance(error, QueryRefused) else ""
        log.info("questionnaire expression failed at %s: %s %s", where, type(error).__name__, reason)
        return []


class QueryRefused(Exception):
    """An x-fhir-query this app will not run (no same-server runner, or not a relative search)."""


def _query(template: str, base: Any, env: dict[str, Any], ctx: FillContext) -> list[Any]:
    """SDC x-fhir-query: substitute each {{FHIRPath}}, then run it on the launch's server; [Bundle]."""
    def substitute(match: re.Match[str]) -> str:
        """One embedded expression -> its single value, URL-encoded (SDC x-fhir-query substitution)."""
        values = list(_compiled(match.group(1).strip())(base, env))
        if len(values) != 1 or isinstance(values[0], (dict, list)):
            raise QueryRefused("an embedded expression in a query did not give one simple value")
        value = values[0]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return quote(text, safe="")  # an answer can never add or change query parameters

    query = _EMBEDDED.sub(substitute, template)
    if ctx.fhir_query is None:
        raise QueryRefused("queries need the launch's FHIR server")
    if query not in ctx._queries:
        ctx._queries[query] = [ctx.fhir_query(query)]
    return list(ctx._queries[query])


def environment(ctx: FillContext, resource: dict[str, Any]) -> dict[str, Any]:
    """Base %-variables: %resource/%rootResource, %questionnaire and the launch context.

    Launch resources are offered under the standard lower-case names and under each name the
    form declares (`Patient`, `PATIENT`...), matched case-insensitively; a declared name that
    is not standard, or whose resource is unavailable, is an empty collection (never undefined).
    """
    env: dict[str, Any] = {"resource": resource, "rootResource": resource, "context": resource}
    env["questionnaire"] = ctx.questionnaire if ctx.questionnaire is not None else []
    for name, value in ctx.resources.items():
        env[name] = value
    for name in ctx.launch_names:
        key = name.lower()
        env[name] = ctx.resources.get(key, []) if key in STANDARD_LAUNCH_CONTEXT else []
    return env


def add_variables(variables: tuple[Expression, ...], base: Any, env: dict[str, Any], ctx: FillContext, where: str,
                  link_id: str = "") -> dict[str, Any]:
    """Evaluate `variable` extensions in order on `base` (their item's context); each may use the ones before it."""
    if not variables:
        return env
    env = dict(env)
    for var in variables:
        if var.name:
            env[var.name] = run(var, base, env, ctx, f"{where} variable {var.name}", link_id)
    return env


def to_answers(item: FormItem, values: list[Any]) -> list[Answer]:
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
                if option.token == value or option.label == value or (
                        option.value_type == "Coding" and option.value.get("code") == value):
                    return option.value_type, option.value
            return ("String", value) if kind == "open-choice" else None
    return None


def _resources(values: list[Any]) -> list[Any]:
    """Values with any searchset Bundle (an x-fhir-query result) replaced by its resources."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            out.extend(e["resource"] for e in value.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict))
        else:
            out.append(value)
    return out


def _resource_label(resource: dict[str, Any]) -> str:
    """A plain label for a resource offered as an answer (its name, code text or title)."""
    for key in ("title", "display"):
        if isinstance(label := resource.get(key), str):
            return label
    names = resource.get("name")
    if isinstance(names, list) and names and isinstance(names[0], dict):
        first = names[0]
        return str(first.get("text") or " ".join([*first.get("given", []), first.get("family", "")]).strip())
    if isinstance(names, str):
        return names
    for key in ("code", "medicationCodeableConcept"):
        concept = resource.get(key)
        if isinstance(concept, dict):
            coding: dict[str, Any] = next(iter(concept.get("coding") or []), {})
            return str(concept.get("text") or coding.get("display") or coding.get("code") or "")
    return "(unnamed)"


def to_options(item: FormItem, values: list[Any]) -> tuple[Option, ...]:
    """answerExpression/candidateExpression results as answer options for this item (SDC).

    Codings become Coding options, resources (from an x-fhir-query Bundle) References to them,
    plain values options of the item's type; anything else is dropped. Bounded by MAX_OPTIONS.
    """
    options: list[Option] = []
    seen: set[str] = set()
    for value in _resources(values)[:MAX_OPTIONS]:
        option: Option | None = None
        if isinstance(value, dict) and value.get("resourceType") and value.get("id"):
            ref = {"reference": f"{value['resourceType']}/{value['id']}", "display": _resource_label(value)}
            option = Option("Reference", ref, value_token("Reference", ref), ref["display"])
        elif isinstance(value, dict) and isinstance(value.get("code"), str):
            coding = {k: value[k] for k in ("system", "version", "code", "display") if isinstance(value.get(k), str)}
            option = Option("Coding", coding, coding_token(coding), str(coding.get("display") or coding["code"]))
        elif isinstance(value, str):
            option = Option("String", value, value, value)
        elif isinstance(value, int) and not isinstance(value, bool):
            option = Option("Integer", value, str(value), str(value))
        if option is not None and option.token not in seen:
            seen.add(option.token)
            options.append(option)
    return tuple(options)
