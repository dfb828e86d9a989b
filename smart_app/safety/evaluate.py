"""Which critical-answer rules a completed response triggers (pure: form model + response in, findings out).

Items are found by linkId or by the codes the form gives them, so a rule written for our
PHQ-9 also fires on an EHR's copy with other linkIds. Totals are never read from what was
typed: the caller passes the Score that the app's scoring code computed for this response.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator, Mapping

from smart_app.forms.model import Form, FormItem, coding_token
from smart_app.forms.scoring import Score
from smart_app.forms.summary import answer_text

from .rules import ItemSelector, Rule, RuleSet, Test, code_matches, compiled_fhirpath

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Match:
    """What made a test hold: the question and the answer, in the form's own words."""

    link_id: str | None
    question: str
    answer: str


@dataclass(frozen=True)
class Finding:
    """A rule that fired on one response, with every answer that made it fire."""

    rule: Rule
    matches: tuple[Match, ...]

    @property
    def rule_id(self) -> str:
        """The rule's id (what audit and the Flag carry)."""
        return self.rule.id


def applies(rule: Rule, form: Form, response: Mapping[str, Any]) -> bool:
    """True when the rule is keyed to this form (canonical + version range, or the form's code)."""
    cited = response.get("questionnaire")
    url, _, cited_version = (cited if isinstance(cited, str) else "").partition("|")
    url = url or form.url or ""
    version = cited_version or form.version or None
    if rule.questionnaire.matches(url, version, form.code):
        return True
    return form.url is not None and rule.questionnaire.matches(form.url, form.version, form.code)


def evaluate(rules: RuleSet, form: Form, response: Mapping[str, Any], *, score: Score | None) -> list[Finding]:
    """Every rule that fires on this response, most urgent first (file order within a severity).

    `score` is the app's own scoring of this response (None for unscored forms); `score` tests
    compare its total and never a typed value.
    """
    findings = []
    for rule in rules.rules:
        if not applies(rule, form, response):
            continue
        matches = [m for test in rule.tests for m in _test_matches(test, form, response, score)]
        if matches:
            findings.append(Finding(rule, tuple(_unique(matches))))
    return sorted(findings, key=lambda f: f.rule.severity.rank)


def _unique(matches: list[Match]) -> list[Match]:
    """Drop repeats (two tests of one rule may match the same answer), keeping order."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for match in matches:
        key = (match.link_id, match.question, match.answer)
        if key not in seen:
            seen.add(key)
            out.append(match)
    return out


# ------------------------------------------------------------------------------------------- answers


def _walk(form: Form, items: Any) -> Iterator[tuple[Mapping[str, Any], FormItem | None]]:
    """(response item, form item) for every response item, nested ones included, without recursion."""
    stack = [i for i in reversed(items) if isinstance(i, Mapping)] if isinstance(items, list) else []
    while stack:
        node = stack.pop()
        link_id = node.get("linkId")
        yield node, form.by_link_id.get(link_id) if isinstance(link_id, str) else None
        children: list[Any] = list(node.get("item") or []) if isinstance(node.get("item"), list) else []
        for answer in node.get("answer") or []:
            if isinstance(answer, Mapping) and isinstance(answer.get("item"), list):
                children += answer["item"]
        stack.extend(c for c in reversed(children) if isinstance(c, Mapping))


def selected(selector: ItemSelector, node: Mapping[str, Any], item: FormItem | None) -> bool:
    """True when the response item is the one the selector names (by linkId, or by the form item's codes)."""
    if selector.link_id and node.get("linkId") == selector.link_id:
        return True
    return bool(selector.code and item is not None and any(code_matches(frozenset({selector.code}), c) for c in item.code))


def _answers(node: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(value suffix, value) of each answer of a response item."""
    for answer in node.get("answer") or []:
        if not isinstance(answer, Mapping):
            continue
        for key, value in answer.items():
            if key.startswith("value"):
                yield key[5:], value
                break


def _number(suffix: str, value: Any) -> Decimal | None:
    """The number an answer carries (integer, decimal, or a quantity's value); None otherwise."""
    raw = value.get("value") if suffix == "Quantity" and isinstance(value, Mapping) else value
    if suffix not in ("Integer", "Decimal", "Quantity") or isinstance(raw, bool) or raw is None:
        return None
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _ordinal(item: FormItem | None, suffix: str, value: Any) -> Decimal | None:
    """The option's ordinal value (ordinalValue/itemWeight) as the form defines it."""
    if item is None:
        return None
    token = coding_token(value) if suffix == "Coding" and isinstance(value, Mapping) else str(value)
    ordinal = item.ordinals.get(token)
    if ordinal is None and suffix == "Coding" and isinstance(value, Mapping):
        # A response may omit the system the form's option has (or the reverse): match on code alone.
        code = value.get("code")
        ordinal = next((o.ordinal for o in item.options if o.ordinal is not None and o.value_type == "Coding"
                        and isinstance(o.value, Mapping) and o.value.get("code") == code), None)
    return ordinal


def _question(node: Mapping[str, Any], item: FormItem | None) -> str:
    """The question as the form words it (prefix and text), else the response's copy, else the linkId."""
    if item is not None:
        text = " ".join(p for p in (item.prefix, item.text) if p)
        if text:
            return text
    return str(node.get("text") or node.get("linkId") or "")


def _answer_words(suffix: str, value: Any) -> str:
    """An answer as people read it."""
    if suffix == "Decimal" and not isinstance(value, Decimal):
        value = Decimal(str(value))
    if suffix == "Quantity" and isinstance(value, Mapping) and "value" in value:
        value = {**value, "value": Decimal(str(value["value"]))}
    return answer_text((suffix, value))


# ------------------------------------------------------------------------------------------- tests


def _test_matches(test: Test, form: Form, response: Mapping[str, Any], score: Score | None) -> list[Match]:
    """The answers for which this test holds ([] when it does not)."""
    if test.kind == "score":
        return _score_match(test, form, score)
    if test.kind == "fhirpath":
        return _fhirpath_match(test, response)
    found: list[Match] = []
    if test.item is None:  # the parser requires an item for these kinds
        return found
    for node, item in _walk(form, response.get("item")):
        if not selected(test.item, node, item):
            continue
        for suffix, value in _answers(node):
            if _holds(test, item, suffix, value):
                found.append(Match(node.get("linkId"), _question(node, item), _answer_words(suffix, value)))
    return found


def _holds(test: Test, item: FormItem | None, suffix: str, value: Any) -> bool:
    """Whether one answer meets an ordinal, value or answer_code test."""
    if test.kind == "answer_code":
        return suffix == "Coding" and isinstance(value, Mapping) and code_matches(test.codes, value)
    number = _ordinal(item, suffix, value) if test.kind == "ordinal" else _number(suffix, value)
    return number is not None and test.comparison is not None and test.comparison.holds(number)


def _score_match(test: Test, form: Form, score: Score | None) -> list[Match]:
    """The computed total against the threshold; the item (when given) must name the instrument's total."""
    if score is None or score.total is None or test.comparison is None:
        return []
    if test.item is not None and test.item.code:
        instrument = score.instrument
        total_codes = {instrument.total_code, f"http://loinc.org|{instrument.total_code}"} if instrument else set()
        in_form = any(selected(test.item, {"linkId": i.link_id}, i) for i in form.walk())
        if test.item.code not in total_codes and not in_form:
            return []
    if not test.comparison.holds(score.total):
        return []
    name = score.instrument.name if score.instrument else form.title
    maximum = f" of {score.instrument.maximum}" if score.instrument else ""
    return [Match(None, f"{name} total score", f"{score.total}{maximum}")]


def _fhirpath_match(test: Test, response: Mapping[str, Any]) -> list[Match]:
    """Fires when the expression over the response evaluates to exactly `true`."""
    try:
        result = list(compiled_fhirpath(test.expression or "")(dict(response), {}))
    except Exception as error:  # an expression that fails at run time fires nothing, and is logged by type only
        log.warning("safety rule FHIRPath failed: %s", type(error).__name__)
        return []
    if result != [True]:
        return []
    return [Match(None, "Rule expression", "true")]
