"""Critical-answer rules as data: the rule model and its validating parser (pure, no I/O).

A rule names which Questionnaire it applies to (canonical URLs with an optional version range,
or the form's own code such as LOINC 44249-1), and one or more tests; it fires when any test
holds. A test selects answers by item linkId or item code and compares them: the option's
ordinal value, the answer's code, its number, the instrument total the app's scoring computed,
or a FHIRPath expression over the whole response (evaluated with fhirpathpy). The format is
documented in docs/safety.md. Every problem is raised as RuleError naming the file, the rule
and the problem, so a broken rule file stops the app at startup instead of failing silently.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import lru_cache
from typing import Any, Callable, Mapping

from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.error.ErrorListener import ErrorListener
from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from smart_app.config import ConfigError

RULES_FORMAT = "smart-previsit-safety-rules/1"
OPERATORS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
FLAG_CATEGORIES = frozenset({"diet", "drug", "lab", "admin", "contact", "clinical", "behavioral", "research",
                             "advance-directive", "safety"})  # http://terminology.hl7.org/CodeSystem/flag-category
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_VERSION_CONSTRAINT = re.compile(r"^(>=|<=|>|<|=)?([0-9]+(?:\.[0-9]+)*)$")
_RULE_KEYS = frozenset({"id", "title", "severity", "patient_message", "flag_category", "questionnaire", "any",
                        "source", "note"})
_TEST_KINDS = ("ordinal", "value", "answer_code", "score", "fhirpath")


class RuleError(ConfigError):
    """A rule file or a rule is unusable; the message reads `file: rule: problem`."""


class Severity(Enum):
    """How urgently a clinician should look: urgent rules sort first on the sidebar."""

    URGENT = "urgent"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Sort key: urgent before high."""
        return 0 if self is Severity.URGENT else 1


class PatientMessage(Enum):
    """Which calm message (and which crisis contacts) the person answering sees when the rule fires."""

    MENTAL_HEALTH = "mental-health"
    PHYSICAL_URGENT = "physical-urgent"
    NONE = "none"


@dataclass(frozen=True)
class ItemSelector:
    """Which answers a test looks at: the item with this linkId, or any item carrying this code."""

    link_id: str | None = None
    code: str | None = None  # "system|code", or "code" for any system

    def describe(self) -> str:
        """Short text for error messages and docs."""
        return " or ".join(p for p in (f"linkId {self.link_id}" if self.link_id else "",
                                       f"code {self.code}" if self.code else "") if p)


@dataclass(frozen=True)
class Comparison:
    """`operator value`, e.g. `>= 180`."""

    operator: str
    value: Decimal

    def holds(self, number: Decimal) -> bool:
        """True when `number operator value`."""
        return OPERATORS[self.operator](number, self.value)


@dataclass(frozen=True)
class Test:
    """One condition of a rule; exactly one of the comparison kinds is set."""

    kind: str  # one of _TEST_KINDS
    item: ItemSelector | None = None
    comparison: Comparison | None = None
    codes: frozenset[str] = frozenset()  # answer_code: "system|code" or bare "code"
    expression: str | None = None  # fhirpath


@dataclass(frozen=True)
class VersionRange:
    """Constraints such as `>=1.0.0 <2`; an empty range admits every version (and none)."""

    constraints: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def admits(self, version: str | None) -> bool:
        """True when `version` meets every constraint (a missing or non-numeric one only meets an empty range)."""
        if not self.constraints:
            return True
        parsed = parse_version(version)
        if parsed is None:
            return False
        return all(_compare_versions(parsed, op, bound) for op, bound in self.constraints)


@dataclass(frozen=True)
class QuestionnaireMatch:
    """Which forms a rule applies to: by canonical URL (+ version range) or by the form's code."""

    urls: frozenset[str] = frozenset()
    versions: VersionRange = VersionRange()
    codes: frozenset[str] = frozenset()

    def matches(self, url: str | None, version: str | None, form_codes: tuple[Mapping[str, Any], ...]) -> bool:
        """True for a form with one of the URLs (at an admitted version), or carrying one of the codes."""
        if url and url in self.urls and self.versions.admits(version):
            return True
        return any(code_matches(self.codes, c) for c in form_codes)


@dataclass(frozen=True)
class Rule:
    """One critical-answer rule."""

    id: str
    title: str
    severity: Severity
    patient_message: PatientMessage
    flag_category: str
    questionnaire: QuestionnaireMatch
    tests: tuple[Test, ...]
    source: str


@dataclass(frozen=True)
class RuleSet:
    """The rules in force, in file order, and where they came from (for messages)."""

    rules: tuple[Rule, ...]
    sources: tuple[str, ...] = ()

    def by_id(self, rule_id: str) -> Rule | None:
        """The rule with this id, or None."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def without(self, rule_ids: frozenset[str]) -> RuleSet:
        """The same rules minus those switched off."""
        return RuleSet(tuple(r for r in self.rules if r.id not in rule_ids), self.sources)

    def plus(self, other: RuleSet, path: str) -> RuleSet:
        """Both sets; a repeated id is an error (a deployment changes a shipped rule by disabling it and adding its own)."""
        seen = {r.id for r in self.rules}
        for rule in other.rules:
            if rule.id in seen:
                raise RuleError(path, rule.id, "a rule with this id already exists; disable it first to replace it")
            seen.add(rule.id)
        return RuleSet(self.rules + other.rules, self.sources + other.sources)


# ------------------------------------------------------------------------------------------- helpers


def parse_version(version: str | None) -> tuple[int, ...] | None:
    """`1.2.3` -> (1, 2, 3); None when absent or not purely numeric."""
    if not version or not re.fullmatch(r"[0-9]+(?:\.[0-9]+)*", version):
        return None
    return tuple(int(p) for p in version.split("."))


def _compare_versions(version: tuple[int, ...], op: str, bound: tuple[int, ...]) -> bool:
    """Compare dotted versions padded with zeros (1.0 == 1.0.0)."""
    width = max(len(version), len(bound))
    a = version + (0,) * (width - len(version))
    b = bound + (0,) * (width - len(bound))
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b, "=": a == b}[op]


def code_matches(wanted: frozenset[str], coding: Mapping[str, Any]) -> bool:
    """True when a Coding is one of `wanted` ("system|code", or a bare "code" for any system)."""
    code = coding.get("code")
    if not isinstance(code, str) or not code:
        return False
    return code in wanted or f"{coding.get('system') or ''}|{code}" in wanted


class _SyntaxErrors(ErrorListener):
    """Counts what the FHIRPath grammar rejects (fhirpathpy's own parse recovers silently)."""

    def __init__(self) -> None:
        """Start with no errors."""
        super().__init__()
        self.count = 0

    def syntaxError(self, recognizer: Any, offendingSymbol: Any, line: int, column: int, msg: str, e: Any) -> None:  # noqa: N802
        """Count one syntax error (antlr4's listener interface)."""
        self.count += 1


def fhirpath_problem(expression: str) -> str | None:
    """Why an expression cannot be used (a syntax error, or an unknown function), or None when it can.

    Checked with the grammar fhirpathpy ships (its parser would otherwise skip the bad part), then
    run once on an empty response so unsupported functions show up at startup, not on a patient's answers.
    """
    listener = _SyntaxErrors()
    lexer = FHIRPathLexer(InputStream(expression))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    tokens = CommonTokenStream(lexer)
    parser = FHIRPathParser(tokens)
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    parser.expression()
    if listener.count or tokens.LA(1) != Token.EOF:
        return "is not valid FHIRPath"
    try:
        compiled_fhirpath(expression)({"resourceType": "QuestionnaireResponse", "status": "completed"}, {})
    except Exception as error:  # fhirpathpy raises bare Exception for unknown functions
        return f"cannot be evaluated ({str(error)[:60] or type(error).__name__})"
    return None


@lru_cache(maxsize=256)
def compiled_fhirpath(expression: str) -> Callable[..., list[Any]]:
    """Compile a FHIRPath expression once (R4 model); raises on a syntax error."""
    return fhirpath_compile(expression, models["r4"])


# ------------------------------------------------------------------------------------------- parsing


def parse_rule_file(raw: Any, path: str) -> RuleSet:
    """Validate a whole rule file: `{"format": ..., "rules": [...]}`."""
    if not isinstance(raw, Mapping):
        raise RuleError(path, "(file)", "must be a JSON object with \"format\" and \"rules\"")
    if raw.get("format") != RULES_FORMAT:
        raise RuleError(path, "(file)", f"\"format\" must be \"{RULES_FORMAT}\"")
    return parse_rules(raw.get("rules"), path)


def parse_rules(raw: Any, path: str, where: str = "rules") -> RuleSet:
    """Validate a list of rules; ids must be unique."""
    if not isinstance(raw, list):
        raise RuleError(path, where, "must be a list of rules")
    rules: list[Rule] = []
    for index, entry in enumerate(raw):
        rule = parse_rule(entry, path, f"{where}[{index}]")
        if any(r.id == rule.id for r in rules):
            raise RuleError(path, rule.id, "this id is used by two rules")
        rules.append(rule)
    return RuleSet(tuple(rules), (path,))


def parse_rule(raw: Any, path: str, where: str) -> Rule:
    """Validate one rule; errors name the rule by id (or by position when it has none)."""
    if not isinstance(raw, Mapping):
        raise RuleError(path, where, "must be a JSON object")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise RuleError(path, where, "\"id\" must be lower-case letters, digits and dashes (at most 64)")
    name = rule_id
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise RuleError(path, name, f"unknown key {unknown[0]!r}")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise RuleError(path, name, "\"title\" is required (what a clinician reads on the flag)")
    severity = _enum(Severity, raw.get("severity"), path, name, "severity")
    message = _enum(PatientMessage, raw.get("patient_message"), path, name, "patient_message")
    category = raw.get("flag_category", "clinical")
    if category not in FLAG_CATEGORIES:
        raise RuleError(path, name, f"\"flag_category\" must be one of {', '.join(sorted(FLAG_CATEGORIES))}")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise RuleError(path, name, "\"source\" is required: cite the guidance the threshold comes from")
    tests_raw = raw.get("any")
    if not isinstance(tests_raw, list) or not tests_raw:
        raise RuleError(path, name, "\"any\" must be a non-empty list of tests")
    tests = tuple(_test(t, path, name, i) for i, t in enumerate(tests_raw))
    return Rule(rule_id, title.strip(), severity, message, category,
                _questionnaire(raw.get("questionnaire"), path, name), tests, source.strip())


def _enum(kind: Any, value: Any, path: str, name: str, key: str) -> Any:
    """A value from a closed set."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise RuleError(path, name, f"\"{key}\" must be one of {allowed}") from None


def _strings(value: Any, path: str, name: str, key: str) -> frozenset[str]:
    """A list of non-empty strings (a single string is accepted as a list of one)."""
    items = [value] if isinstance(value, str) else value
    if items is None:
        return frozenset()
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        raise RuleError(path, name, f"\"{key}\" must be a list of non-empty strings")
    return frozenset(v.strip() for v in items)


def _questionnaire(raw: Any, path: str, name: str) -> QuestionnaireMatch:
    """`{"url": [...], "version": ">=1 <2", "code": ["http://loinc.org|44249-1"]}`; url or code required."""
    if not isinstance(raw, Mapping):
        raise RuleError(path, name, "\"questionnaire\" must be an object with \"url\" and/or \"code\"")
    unknown = sorted(set(raw) - {"url", "version", "code"})
    if unknown:
        raise RuleError(path, name, f"unknown key questionnaire.{unknown[0]}")
    urls = _strings(raw.get("url"), path, name, "questionnaire.url")
    codes = _strings(raw.get("code"), path, name, "questionnaire.code")
    if not urls and not codes:
        raise RuleError(path, name, "\"questionnaire\" needs a \"url\" or a \"code\" to know which forms it applies to")
    if any("|" in u for u in urls):
        raise RuleError(path, name, "questionnaire.url takes URLs without |version; put versions in \"version\"")
    version = raw.get("version")
    constraints: list[tuple[str, tuple[int, ...]]] = []
    if version is not None:
        if not isinstance(version, str) or not version.strip():
            raise RuleError(path, name, "questionnaire.version must be a string such as \">=1.0.0 <2\"")
        for part in version.split():
            match = _VERSION_CONSTRAINT.match(part)
            if not match:
                raise RuleError(path, name, f"questionnaire.version: cannot read {part!r} (use >=, >, <, <=, = and numbers)")
            constraints.append((match.group(1) or "=", tuple(int(p) for p in match.group(2).split("."))))
    return QuestionnaireMatch(urls, VersionRange(tuple(constraints)), codes)


def _test(raw: Any, path: str, name: str, index: int) -> Test:
    """One entry of `any`: an item selector and exactly one condition."""
    where = f"any[{index}]"
    if not isinstance(raw, Mapping):
        raise RuleError(path, name, f"{where} must be an object")
    kinds = [k for k in _TEST_KINDS if k in raw]
    unknown = sorted(set(raw) - set(_TEST_KINDS) - {"item"})
    if unknown:
        raise RuleError(path, name, f"{where}: unknown key {unknown[0]!r} (conditions: {', '.join(_TEST_KINDS)})")
    if len(kinds) != 1:
        raise RuleError(path, name, f"{where} needs exactly one condition of {', '.join(_TEST_KINDS)}")
    kind = kinds[0]
    item = _item(raw.get("item"), path, name, where) if "item" in raw else None
    if kind in ("ordinal", "value", "answer_code") and item is None:
        raise RuleError(path, name, f"{where}: \"{kind}\" needs an \"item\" (linkId or code)")
    if kind == "answer_code":
        codes = _strings(raw[kind], path, name, f"{where}.answer_code")
        if not codes:
            raise RuleError(path, name, f"{where}.answer_code must list at least one code")
        return Test(kind, item, codes=codes)
    if kind == "fhirpath":
        expression = raw[kind]
        if not isinstance(expression, str) or not expression.strip():
            raise RuleError(path, name, f"{where}.fhirpath must be a FHIRPath expression")
        problem = fhirpath_problem(expression)
        if problem:
            raise RuleError(path, name, f"{where}.fhirpath {problem}")
        return Test(kind, item, expression=expression)
    return Test(kind, item, comparison=_comparison(raw[kind], path, name, f"{where}.{kind}"))


def _item(raw: Any, path: str, name: str, where: str) -> ItemSelector:
    """`{"linkId": "...", "code": "system|code"}` with at least one of the two."""
    if not isinstance(raw, Mapping) or not (raw.get("linkId") or raw.get("code")):
        raise RuleError(path, name, f"{where}.item needs a \"linkId\" or a \"code\"")
    unknown = sorted(set(raw) - {"linkId", "code"})
    if unknown:
        raise RuleError(path, name, f"{where}.item: unknown key {unknown[0]!r}")
    for key in ("linkId", "code"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            raise RuleError(path, name, f"{where}.item.{key} must be a non-empty string")
    return ItemSelector(raw.get("linkId"), raw.get("code"))


def _comparison(raw: Any, path: str, name: str, where: str) -> Comparison:
    """`{">=": 180}`: exactly one operator and a number."""
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise RuleError(path, name, f"{where} must be one operator and a number, such as {{\">=\": 20}}")
    (operator, value), = raw.items()
    if operator not in OPERATORS:
        raise RuleError(path, name, f"{where}: unknown operator {operator!r} (use {', '.join(OPERATORS)})")
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise RuleError(path, name, f"{where}: {operator} needs a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RuleError(path, name, f"{where}: {operator} needs a number") from None
    if not number.is_finite():
        raise RuleError(path, name, f"{where}: {operator} needs a finite number")
    return Comparison(operator, number)
