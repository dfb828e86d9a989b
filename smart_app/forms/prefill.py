"""SDC populate, done in the app: initialExpression over the launch context, and
observationLinkPeriod over recent Observations the caller has already fetched.

Everything found here is marked "from your record" and stays editable. No I/O: the caller
supplies the Patient/Encounter/user resources and the Observation list.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable

from .answers import Answer, answer_to_token
from .expressions import FillContext, add_variables, environment, run, to_answers
from .model import Form, FormItem
from .state import Prefill

_USABLE_STATUS = frozenset({"final", "amended", "corrected", "preliminary"})
# UCUM duration units -> days (months and years by their mean length, as UCUM defines them).
_DAYS = {"a": Decimal("365.25"), "mo": Decimal("30.4375"), "wk": Decimal(7), "d": Decimal(1),
         "h": Decimal(1) / 24, "min": Decimal(1) / 1440, "s": Decimal(1) / 86400}


def _parse_instant(text: str) -> dt.datetime | None:
    """A FHIR date/dateTime/instant as an aware UTC datetime (dates at midnight UTC)."""
    try:
        if "T" not in text:
            parts = [int(p) for p in text.split("-")] + [1, 1]
            return dt.datetime(parts[0], parts[1], parts[2], tzinfo=dt.timezone.utc)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, IndexError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _effective(obs: dict[str, Any]) -> dt.datetime | None:
    """When an Observation applies: effectiveDateTime, effectivePeriod.end/start, or issued."""
    period = obs.get("effectivePeriod") or {}
    for text in (obs.get("effectiveDateTime"), obs.get("effectiveInstant"), period.get("end"),
                 period.get("start"), obs.get("issued")):
        if isinstance(text, str) and (value := _parse_instant(text)):
            return value
    return None


def _matches_code(obs: dict[str, Any], item: FormItem) -> bool:
    """Observation.code shares a system+code with item.code."""
    wanted = {(c.get("system"), c.get("code")) for c in item.code}
    return any((c.get("system"), c.get("code")) in wanted for c in (obs.get("code") or {}).get("coding") or [])


def _observation_answer(item: FormItem, obs: dict[str, Any]) -> Answer | None:
    """The Observation's value as an answer for this item, if the types fit (no unit conversion)."""
    quantity = obs.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("value") is not None:
        number = Decimal(str(quantity["value"]))
        if item.type == "quantity":
            units = list(item.unit_options) or ([item.unit] if item.unit else [])
            if units and not any(u.get("code") == quantity.get("code") for u in units):
                return None
            return "Quantity", {**quantity, "value": number}
        if item.unit and item.unit.get("code") != quantity.get("code"):
            return None
        if item.type == "decimal":
            return "Decimal", number
        if item.type == "integer" and number == number.to_integral_value():
            return "Integer", int(number)
        return None
    concept = obs.get("valueCodeableConcept")
    if isinstance(concept, dict) and item.type in ("choice", "open-choice"):
        for coding in concept.get("coding") or []:
            answers = to_answers(item, [coding])
            if answers and any(o.value == answers[0][1] for o in item.options):
                return answers[0]
        return None
    for key, kinds, suffix in (("valueString", ("string", "text"), "String"),
                               ("valueBoolean", ("boolean",), "Boolean"),
                               ("valueInteger", ("integer",), "Integer")):
        if key in obs and item.type in kinds:
            return suffix, obs[key]
    if "valueDateTime" in obs and item.type in ("date", "dateTime"):
        return ("Date", obs["valueDateTime"][:10]) if item.type == "date" else ("DateTime", obs["valueDateTime"])
    return None


def _subject_ok(obs: dict[str, Any], ctx: FillContext) -> bool:
    """Defence in depth: only the launch patient's Observations may prefill."""
    patient = ctx.resources.get("patient")
    if not patient or not patient.get("id"):
        return True
    return (obs.get("subject") or {}).get("reference") == f"Patient/{patient['id']}"


def latest_observation(item: FormItem, observations: Iterable[dict[str, Any]], now: dt.datetime, ctx: FillContext) -> dict[str, Any] | None:
    """The most recent usable Observation for this item within its observationLinkPeriod."""
    if item.observation_link_period is None or not item.code:
        return None
    amount, unit = item.observation_link_period
    days = _DAYS.get(unit)
    if days is None:
        return None
    since = now - dt.timedelta(days=float(amount * days))
    best: tuple[dt.datetime, dict[str, Any]] | None = None
    for obs in observations:
        if obs.get("status") not in _USABLE_STATUS or not _matches_code(obs, item) or not _subject_ok(obs, ctx):
            continue
        when = _effective(obs)
        if when is None or when < since or when > now + dt.timedelta(days=1):
            continue
        if best is None or when > best[0]:
            best = (when, obs)
    return best[1] if best else None


def populate(
    form: Form,
    ctx: FillContext,
    observations: Iterable[dict[str, Any]] = (),
    now: dt.datetime | None = None,
) -> Prefill:
    """Initial values from initialExpression and observationLinkPeriod, marked from the record."""
    now = now or dt.datetime.now(dt.timezone.utc)
    observations = list(observations)
    prefill = Prefill()
    empty = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    ctx.questionnaire = form.questionnaire
    ctx.launch_names = tuple(spec.name for spec in form.launch_context)
    env = add_variables(form.variables, empty, environment(ctx, empty), ctx, "root")
    for item in form.walk():
        if not item.is_question or item.calculated_expression is not None:
            continue
        key = (item.link_id, (0,) * item.group_depth)
        answers: list[Answer] = []
        if item.initial_expression is not None:
            scope = env
            for ancestor in reversed([item, *item.ancestors()]):
                scope = add_variables(ancestor.variables, {"linkId": ancestor.link_id},
                                      {**scope, "qitem": ancestor.source}, ctx, ancestor.link_id, item.link_id)
            scope = {**scope, "context": {"linkId": item.link_id}, "qitem": item.source}
            answers = to_answers(item, run(item.initial_expression, empty, scope, ctx, f"{item.link_id} initialExpression",
                                           item.link_id))
        if not answers:
            obs = latest_observation(item, observations, now, ctx)
            answer = _observation_answer(item, obs) if obs else None
            answers = [answer] if answer else []
        if answers:
            prefill.values[key] = [answer_to_token(item, a) for a in answers]
            prefill.from_record.add(key)
    return prefill

