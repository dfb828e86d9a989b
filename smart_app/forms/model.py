"""Questionnaire JSON -> a typed, bounded form model (FHIR R4 + SDC rendering extensions).

Parsing happens once, at the boundary: everything after this module works on `Form` and
`FormItem`, never on raw Questionnaire JSON. Limits are enforced here so a hostile or
huge Questionnaire fails with a typed error instead of a crash.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator, Mapping

from markupsafe import Markup

from smart_app.text import N_, Text

from .errors import QuestionnaireTooLarge, UnsupportedQuestionnaire
from .sanitize import sanitize_markdown, sanitize_xhtml
from .valuesets import bundled_value_set

log = logging.getLogger(__name__)

MAX_ITEMS = 5000
MAX_DEPTH = 50
MAX_OPTIONS = 2000

EXT = "http://hl7.org/fhir/StructureDefinition/"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
URL_ITEM_CONTROL = EXT + "questionnaire-itemControl"
URL_CHOICE_ORIENTATION = EXT + "questionnaire-choiceOrientation"
URL_ENTRY_FORMAT = EXT + "entryFormat"
URL_UNIT = EXT + "questionnaire-unit"
URL_UNIT_OPTION = EXT + "questionnaire-unitOption"
URL_MIN_VALUE = EXT + "minValue"
URL_MAX_VALUE = EXT + "maxValue"
URL_MIN_LENGTH = EXT + "minLength"
URL_REGEX = EXT + "regex"
URL_MAX_DECIMAL_PLACES = EXT + "maxDecimalPlaces"
URL_MIN_OCCURS = EXT + "questionnaire-minOccurs"
URL_MAX_OCCURS = EXT + "questionnaire-maxOccurs"
URL_HIDDEN = EXT + "questionnaire-hidden"
URL_ORDINAL = EXT + "ordinalValue"
URL_ITEM_WEIGHT = EXT + "itemWeight"
URL_CO_VALUE = EXT + "iso21090-CO-value"
URL_OPTION_PREFIX = EXT + "questionnaire-optionPrefix"
URL_RENDER_XHTML = EXT + "rendering-xhtml"
URL_RENDER_MARKDOWN = EXT + "rendering-markdown"
URL_MAX_SIZE = EXT + "maxSize"
URL_MIME_TYPE = EXT + "mimeType"
URL_REFERENCE_RESOURCE = EXT + "questionnaire-referenceResource"
URL_VARIABLE = EXT + "variable"
URL_OBS_EXTRACT = SDC + "sdc-questionnaire-observationExtract"
URL_OBS_LINK_PERIOD = SDC + "sdc-questionnaire-observationLinkPeriod"
URL_CALCULATED = SDC + "sdc-questionnaire-calculatedExpression"
URL_INITIAL_EXPR = SDC + "sdc-questionnaire-initialExpression"
URL_ENABLE_WHEN_EXPR = SDC + "sdc-questionnaire-enableWhenExpression"
URL_LAUNCH_CONTEXT = SDC + "sdc-questionnaire-launchContext"
URL_CANDIDATE_EXPR = SDC + "sdc-questionnaire-candidateExpression"
URL_ANSWER_EXPR = SDC + "sdc-questionnaire-answerExpression"

FHIRPATH = "text/fhirpath"
FHIR_QUERY = "application/x-fhir-query"
# SDC launchContext names (sdc-questionnaire-launchContext's value set); matched case-insensitively.
STANDARD_LAUNCH_CONTEXT = frozenset({"patient", "encounter", "user", "location", "study"})
# itemControl codes the templates render; any other code falls back to the type's default control.
KNOWN_ITEM_CONTROLS = frozenset({
    "drop-down", "radio-button", "check-box", "help", "list", "table", "grid", "gtable", "htable",
    "header", "footer", "page", "tab-container", "tab", "autocomplete", "lookup", "text-box", "spinner",
    "slider", "inline", "prompt", "unit", "lower", "upper", "flyover", "legal", "instructions", "horizontal",
})

ITEM_TYPES = frozenset({
    "group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time",
    "string", "text", "url", "choice", "open-choice", "attachment", "reference", "quantity",
})
QUESTION_TYPES = ITEM_TYPES - {"group", "display"}
OPERATORS = frozenset({"exists", "=", "!=", ">", "<", ">=", "<="})

# Where an item's answer list came from (FormItem.options_source).
SOURCE_FORM = "form"  # answerOption or a contained ValueSet
SOURCE_EHR = "ehr"  # the EHR's ValueSet/$expand
SOURCE_BUNDLED = "bundled"  # an expansion shipped with the app (valuesets.py)
SOURCE_NONE = "none"  # no list found: answered as free text
FREE_TEXT_NOTE = N_("The list of answers for this question is not available; please type your answer.")

# Default attachment limit when the Questionnaire sets no maxSize: keeps a draft small.
DEFAULT_MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Option:
    """One answer option: a typed FHIR value, its label and score."""

    value_type: str  # FHIR suffix: Coding, String, Integer, Date, Time, Reference
    value: Any
    token: str  # stable form value for this option
    label: str
    prefix: str = ""
    ordinal: Decimal | None = None
    initial_selected: bool = False


@dataclass(frozen=True)
class EnableWhen:
    """One R4 enableWhen condition."""

    question: str
    operator: str
    answer_type: str  # FHIR suffix of answer[x], e.g. Coding, Decimal, Boolean
    answer: Any


@dataclass(frozen=True)
class Expression:
    """An SDC Expression: FHIRPath, or (where SDC allows it) an x-fhir-query with {{%var}} parts."""

    expression: str
    name: str | None = None
    language: str = FHIRPATH

    @property
    def is_query(self) -> bool:
        """An application/x-fhir-query: run on the launch's own FHIR server, never elsewhere."""
        return self.language == FHIR_QUERY


@dataclass(frozen=True)
class LaunchContextSpec:
    """A declared SDC launchContext: variable name and allowed resource types."""

    name: str
    types: tuple[str, ...]


@dataclass
class FormItem:
    """One Questionnaire item with its rendering, behaviour and validation settings."""

    link_id: str
    type: str
    text: str = ""
    text_html: Markup | None = None  # sanitised rendering-xhtml/markdown, when present
    prefix: str = ""
    required: bool = False
    repeats: bool = False
    read_only: bool = False
    hidden: bool = False
    max_length: int | None = None
    min_length: int | None = None
    regex: str | None = None
    min_value: tuple[str, Any] | None = None  # (FHIR suffix, typed value)
    max_value: tuple[str, Any] | None = None
    max_decimal_places: int | None = None
    min_occurs: int | None = None
    max_occurs: int | None = None
    entry_format: str | None = None
    unit: dict[str, Any] | None = None
    unit_options: tuple[dict[str, Any], ...] = ()
    options: tuple[Option, ...] = ()
    options_note: str | None = None  # why options could not be resolved
    answer_value_set: str | None = None  # a non-contained answerValueSet canonical (resolved outside the form)
    options_source: str = SOURCE_FORM
    item_control: str | None = None
    choice_orientation: str | None = None
    enable_when: tuple[EnableWhen, ...] = ()
    enable_behavior: str = "any"
    enable_when_expression: Expression | None = None
    calculated_expression: Expression | None = None
    initial_expression: Expression | None = None
    candidate_expression: Expression | None = None
    answer_expression: Expression | None = None
    initial: tuple[tuple[str, Any], ...] = ()  # (FHIR suffix, typed value)
    variables: tuple[Expression, ...] = ()
    code: tuple[dict[str, Any], ...] = ()
    observation_extract: bool | None = None
    observation_link_period: tuple[Decimal, str] | None = None  # (value, UCUM unit)
    max_size: int = DEFAULT_MAX_ATTACHMENT_BYTES
    mime_types: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    definition: str | None = None
    source: dict[str, Any] = field(default_factory=dict, repr=False)  # the item's JSON, for %qitem
    notes: list[str] = field(default_factory=list)  # what was degraded here, for the form's owner
    help: list["FormItem"] = field(default_factory=list)
    children: list["FormItem"] = field(default_factory=list)
    parent: "FormItem | None" = field(default=None, repr=False)
    depth: int = 0
    group_depth: int = 0  # number of group ancestors: the length of its instance path
    order: int = 0

    @property
    def is_question(self) -> bool:
        """True for items that carry answers."""
        return self.type in QUESTION_TYPES

    @property
    def free_text_fallback(self) -> bool:
        """A coded question whose answer list could not be resolved: answered as typed text."""
        return self.type in ("choice", "open-choice") and bool(self.options_note) and not self.options

    @property
    def ordinals(self) -> dict[str, Decimal]:
        """Map of option token -> score, for scored choice items."""
        return {o.token: o.ordinal for o in self.options if o.ordinal is not None}

    def ancestors(self) -> Iterator["FormItem"]:
        """Yield parent, grandparent, ... up to the root item."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


@dataclass
class Form:
    """A parsed Questionnaire: item tree, link-id index and form-level settings."""

    questionnaire: dict[str, Any]
    url: str | None
    version: str | None
    title: str
    items: list[FormItem]
    by_link_id: dict[str, FormItem]
    code: tuple[dict[str, Any], ...] = ()
    variables: tuple[Expression, ...] = ()
    launch_context: tuple[LaunchContextSpec, ...] = ()
    observation_extract: bool | None = None
    dependents: dict[str, list[FormItem]] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (linkId or "", what was degraded), for the owner

    @property
    def canonical(self) -> str | None:
        """The versioned canonical `url|version` that a QuestionnaireResponse cites."""
        if not self.url:
            return None
        return f"{self.url}|{self.version}" if self.version else self.url

    def external_value_sets(self) -> list[str]:
        """Every answerValueSet canonical of the form that is not contained (sorted, once each)."""
        return sorted({i.answer_value_set for i in self.by_link_id.values() if i.answer_value_set})

    def walk(self) -> Iterator[FormItem]:
        """All items (help items excluded) in document order, without recursion."""
        stack = list(reversed(self.items))
        while stack:
            item = stack.pop()
            yield item
            stack.extend(reversed(item.children))


def _list(value: Any) -> list[Any]:
    """A JSON array, or [] for anything else (malformed input reads as absent)."""
    return value if isinstance(value, list) else []


def _ext(element: Any, url: str) -> dict[str, Any] | None:
    """First extension with this url, or None."""
    if not isinstance(element, dict):
        return None
    for ext in _list(element.get("extension")):
        if isinstance(ext, dict) and ext.get("url") == url:
            return ext
    return None


def _exts(element: Any, url: str) -> list[dict[str, Any]]:
    """All extensions with this url."""
    if not isinstance(element, dict):
        return []
    return [e for e in _list(element.get("extension")) if isinstance(e, dict) and e.get("url") == url]


def _value(ext: dict[str, Any] | None) -> tuple[str, Any] | None:
    """(suffix, value) of an extension's value[x], or None."""
    if not isinstance(ext, dict):
        return None
    for key, val in ext.items():
        if key.startswith("value") and len(key) > 5:
            return key[5:], val
    return None


def _dec(raw: Any) -> Decimal | None:
    """Exact, finite Decimal from a JSON number (int, float or Decimal); None otherwise."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal)):
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _coding(raw: Any) -> dict[str, Any] | None:
    """A Coding with string system/version/code/display only; None without a string code."""
    if not isinstance(raw, dict) or not isinstance(raw.get("code"), str):
        return None
    return {k: raw[k] for k in ("system", "version", "code", "display") if isinstance(raw.get(k), str)}


def _codings(raw: Any) -> tuple[dict[str, Any], ...]:
    """Well-formed Codings from a JSON array (item.code, Questionnaire.code)."""
    return tuple(c for c in map(_coding, _list(raw)) if c is not None)


# value[x] suffix -> the JSON shape a well-formed value has.
_SHAPES: dict[str, type | tuple[type, ...]] = {
    "Boolean": bool, "Decimal": (int, float, Decimal), "Integer": int, "Date": str, "DateTime": str,
    "Time": str, "String": str, "Uri": str, "Coding": dict, "Quantity": dict, "Reference": dict,
    "Attachment": dict,
}


def _well_formed(suffix: str, value: Any) -> bool:
    """Whether a typed value has the JSON shape its suffix promises."""
    shape = _SHAPES.get(suffix)
    if shape is None or not isinstance(value, shape):
        return False
    if suffix in ("Integer", "Decimal") and isinstance(value, bool):
        return False
    if suffix == "Quantity":
        return isinstance(value, dict) and _dec(value.get("value")) is not None
    return True


def _int(raw: Any) -> int | None:
    """Int from a JSON integer, else None."""
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def _code_of(ext: dict[str, Any] | None) -> str | None:
    """First coding code of a CodeableConcept or code-valued extension."""
    val = _value(ext)
    if not val:
        return None
    suffix, raw = val
    if suffix == "Code" and isinstance(raw, str):
        return raw
    if suffix == "CodeableConcept" and isinstance(raw, dict):
        for coding in _list(raw.get("coding")):
            if isinstance(coding, dict) and coding.get("code"):
                return str(coding["code"])
    if suffix == "Coding" and isinstance(raw, dict):
        return raw.get("code")
    return None


def _expression(ext: dict[str, Any] | None, notes: list[str] | None = None,
                languages: frozenset[str] = frozenset({FHIRPATH})) -> Expression | None:
    """An SDC Expression from an extension, or None (with a note) when its language is not one we run here.

    SDC allows application/x-fhir-query for variables and initial/candidate/answer expressions
    only; anything else (CQL, unknown languages) degrades this one expression, never the form.
    """
    val = _value(ext)
    if not val or val[0] != "Expression" or not isinstance(val[1], dict):
        return None
    expr = val[1]
    language = expr.get("language")
    if not isinstance(language, str) or language not in languages:
        if notes is not None:
            notes.append(f"an expression in {str(language)[:40]!r} is not run here (ignored)")
        return None
    text = expr.get("expression")
    if not isinstance(text, str) or not text.strip():
        return None
    name = expr.get("name")
    return Expression(expression=text, name=name if isinstance(name, str) else None, language=str(language))


_QUERY_OK = frozenset({FHIRPATH, FHIR_QUERY})


def _rich_text(element: Any) -> Markup | None:
    """Sanitised HTML from a primitive's rendering-xhtml or rendering-markdown, if any."""
    if not isinstance(element, dict):
        return None
    xhtml = _value(_ext(element, URL_RENDER_XHTML))
    if xhtml and isinstance(xhtml[1], str):
        return sanitize_xhtml(xhtml[1])
    md = _value(_ext(element, URL_RENDER_MARKDOWN))
    if md and isinstance(md[1], str):
        return sanitize_markdown(md[1])
    return None


def coding_token(coding: Mapping[str, Any]) -> str:
    """Stable token for a Coding: `system|code` (system may be empty)."""
    return f"{coding.get('system') or ''}|{coding.get('code') or ''}"


def value_token(suffix: str, value: Any) -> str:
    """Stable form token for a typed option value."""
    if suffix == "Coding" and isinstance(value, dict):
        return coding_token(value)
    if suffix == "Reference" and isinstance(value, dict):
        return str(value.get("reference") or "")
    return str(value)


def _option_label(suffix: str, value: Any) -> str:
    """Human label for an option value."""
    if suffix == "Coding" and isinstance(value, dict):
        return str(value.get("display") or value.get("code") or "")
    if suffix == "Reference" and isinstance(value, dict):
        return str(value.get("display") or value.get("reference") or "")
    return str(value)


def _ordinal(element: dict[str, Any]) -> Decimal | None:
    """Score of an option or concept from ordinalValue, itemWeight or iso21090-CO-value."""
    for url in (URL_ORDINAL, URL_ITEM_WEIGHT, URL_CO_VALUE):
        val = _value(_ext(element, url))
        if val:
            return _dec(val[1])
    return None


def _make_option(suffix: str, value: Any, source: dict[str, Any], selected: bool = False, raw_value: Any = None) -> Option:
    """Build an Option from a typed value and the element carrying its extensions.

    `raw_value` is the value as the Questionnaire wrote it (a Coding with its own extensions):
    ordinalValue/itemWeight may sit on the answerOption or on answerOption.valueCoding.
    """
    prefix = _value(_ext(source, URL_OPTION_PREFIX))
    ordinal = _ordinal(source)
    if ordinal is None and isinstance(raw_value, dict):
        ordinal = _ordinal(raw_value)
    return Option(
        value_type=suffix,
        value=value,
        token=value_token(suffix, value),
        label=_option_label(suffix, value),
        prefix=str(prefix[1]) if prefix else "",
        ordinal=ordinal,
        initial_selected=selected,
    )


def options_from_value_set(vs: dict[str, Any]) -> list[Option] | None:
    """Options from a ValueSet's expansion or enumerated compose; None if neither is usable."""
    expansion = vs.get("expansion")
    contains = expansion.get("contains") if isinstance(expansion, dict) else None
    options: list[Option] = []
    if isinstance(contains, list) and contains:
        stack = list(reversed(contains))
        while stack:
            entry = stack.pop()
            if not isinstance(entry, dict):
                continue
            if entry.get("code") and not entry.get("abstract"):
                coding = {k: entry[k] for k in ("system", "version", "code", "display") if k in entry}
                options.append(_make_option("Coding", coding, entry))
            stack.extend(reversed(_list(entry.get("contains"))))
            if len(options) > MAX_OPTIONS:
                break
        return options
    compose = vs.get("compose")
    includes = _list(compose.get("include")) if isinstance(compose, dict) else []
    for include in includes:
        concepts = _list(include.get("concept")) if isinstance(include, dict) else None
        if not concepts or include.get("filter") or include.get("valueSet"):
            return None  # an intensional definition needs a terminology server
        for concept in concepts:
            if not isinstance(concept, dict) or not isinstance(concept.get("code"), str):
                continue
            coding = {"system": include.get("system"), "code": concept.get("code")}
            if concept.get("display"):
                coding["display"] = concept["display"]
            options.append(_make_option("Coding", coding, concept))
    return options or None


def _enable_when(cond: Any) -> EnableWhen | None:
    """One R4 enableWhen condition, or None when it is malformed (unknown operator, wrong answer type)."""
    if not isinstance(cond, dict):
        return None
    operator, question = cond.get("operator"), cond.get("question")
    if not isinstance(operator, str) or operator not in OPERATORS or not isinstance(question, str):
        return None
    answer = next(((k[6:], v) for k, v in cond.items() if k.startswith("answer")), None)
    if answer is None or not _well_formed(*answer) or (operator == "exists" and answer[0] != "Boolean"):
        return None
    return EnableWhen(question, operator, answer[0], answer[1])


class _Builder:
    """Builds FormItems from raw JSON iteratively, enforcing limits."""

    def __init__(self, questionnaire: dict[str, Any]) -> None:
        """Index contained ValueSets; start the item count."""
        self.q = questionnaire
        self.count = 0
        self.by_link_id: dict[str, FormItem] = {}
        self.contained: dict[str, dict[str, Any]] = {}
        for r in _list(questionnaire.get("contained")):
            if isinstance(r, dict) and r.get("resourceType") == "ValueSet":
                # Found by "#id" or by the contained ValueSet's own canonical url (never fetched).
                if r.get("id"):
                    self.contained["#" + str(r["id"])] = r
                if r.get("url"):
                    self.contained[str(r["url"]).split("|")[0]] = r

    def build(self) -> list[FormItem]:
        """Parse the item tree depth-first, in document order, without Python recursion."""
        roots: list[FormItem] = []
        stack: list[tuple[dict[str, Any], FormItem | None, int]] = [
            (raw, None, 1) for raw in reversed(self._items_of(self.q))
        ]
        while stack:
            raw, parent, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise QuestionnaireTooLarge(
                    Text("This questionnaire nests items more than %(depth)s levels deep.", depth=MAX_DEPTH)
                )
            item = self._item(raw, parent, depth)
            # A display item under a question describes it (R4); under a group only "help" does.
            if item.type == "display" and parent is not None and (
                item.item_control == "help" or parent.type != "group"
            ):
                parent.help.append(item)
            elif parent is None:
                roots.append(item)
            else:
                parent.children.append(item)
            stack.extend((child, item, depth + 1) for child in reversed(self._items_of(raw)))
        return roots

    @staticmethod
    def _items_of(element: dict[str, Any]) -> list[dict[str, Any]]:
        """Child item list, type-checked."""
        items = element.get("item") or []
        if not isinstance(items, list):
            raise UnsupportedQuestionnaire(N_("An item list is not a JSON array."))
        return items

    def _item(self, raw: Any, parent: FormItem | None, depth: int) -> FormItem:
        """Parse one item (not its children)."""
        self.count += 1
        if self.count > MAX_ITEMS:
            raise QuestionnaireTooLarge(Text("This questionnaire has more than %(count)s items.", count=MAX_ITEMS))
        if not isinstance(raw, dict):
            raise UnsupportedQuestionnaire(N_("An item is not a JSON object."))
        link_id = raw.get("linkId")
        if not isinstance(link_id, str) or not link_id:
            raise UnsupportedQuestionnaire(N_("An item has no linkId."))
        if link_id in self.by_link_id:
            raise UnsupportedQuestionnaire(Text("The linkId %(link_id)s is used more than once.", link_id=repr(link_id)))
        nested = [e for key in ("enableWhen", "answerOption", "initial") for e in _list(raw.get(key))]
        if raw.get("modifierExtension") or any(isinstance(e, dict) and e.get("modifierExtension") for e in nested):
            # R4: an application must refuse content whose modifier extensions it does not know.
            raise UnsupportedQuestionnaire(
                Text("Item %(link_id)s carries a modifier extension this app does not understand.", link_id=repr(link_id))
            )
        item_type = raw.get("type")
        if not isinstance(item_type, str) or item_type not in ITEM_TYPES:
            raise UnsupportedQuestionnaire(Text("Item %(link_id)s has an unknown type %(type)s.", link_id=repr(link_id),
                                                type=repr(str(item_type)[:40])))
        group_depth = 0
        if parent is not None:
            group_depth = parent.group_depth + (1 if parent.type == "group" else 0)
        item = FormItem(
            link_id=link_id,
            type=item_type,
            text=str(raw.get("text") or ""),
            text_html=_rich_text(raw.get("_text")),
            prefix=str(raw.get("prefix") or ""),
            required=raw.get("required") is True,
            repeats=raw.get("repeats") is True,
            read_only=raw.get("readOnly") is True,
            hidden=_value(_ext(raw, URL_HIDDEN)) == ("Boolean", True),
            max_length=_int(raw.get("maxLength")),
            definition=raw.get("definition"),
            source=raw,
            parent=parent,
            depth=depth,
            group_depth=group_depth,
            order=self.count,
        )
        self._constraints(item, raw)
        self._behaviour(item, raw)
        self._options(item, raw)
        self.by_link_id[link_id] = item
        return item

    def _constraints(self, item: FormItem, raw: dict[str, Any]) -> None:
        """Validation and entry extensions."""
        item.min_length = _int((_value(_ext(raw, URL_MIN_LENGTH)) or (None, None))[1])
        regex = _value(_ext(raw, URL_REGEX))
        item.regex = regex[1] if regex and isinstance(regex[1], str) else None
        item.min_value = _value(_ext(raw, URL_MIN_VALUE))
        item.max_value = _value(_ext(raw, URL_MAX_VALUE))
        item.max_decimal_places = _int((_value(_ext(raw, URL_MAX_DECIMAL_PLACES)) or (None, None))[1])
        item.min_occurs = _int((_value(_ext(raw, URL_MIN_OCCURS)) or (None, None))[1])
        item.max_occurs = _int((_value(_ext(raw, URL_MAX_OCCURS)) or (None, None))[1])
        fmt = _value(_ext(raw, URL_ENTRY_FORMAT))
        item.entry_format = str(fmt[1]) if fmt else None
        unit = _value(_ext(raw, URL_UNIT))
        item.unit = _coding(unit[1]) if unit and unit[0] == "Coding" else None
        item.unit_options = tuple(
            c for c in (_coding(v[1]) for v in map(_value, _exts(raw, URL_UNIT_OPTION)) if v) if c is not None
        )
        item.item_control = _code_of(_ext(raw, URL_ITEM_CONTROL))
        item.choice_orientation = _code_of(_ext(raw, URL_CHOICE_ORIENTATION))
        size = _value(_ext(raw, URL_MAX_SIZE))
        max_size = _dec(size[1]) if size else None
        if max_size is not None:
            item.max_size = int(max_size)
        item.mime_types = tuple(
            str(v[1]) for v in map(_value, _exts(raw, URL_MIME_TYPE)) if v
        )
        item.reference_types = tuple(
            str(v[1]) for v in map(_value, _exts(raw, URL_REFERENCE_RESOURCE)) if v
        )
        item.code = _codings(raw.get("code"))
        extract = _value(_ext(raw, URL_OBS_EXTRACT))
        item.observation_extract = extract[1] if extract and isinstance(extract[1], bool) else None
        period = _value(_ext(raw, URL_OBS_LINK_PERIOD))
        if period and period[0] == "Duration" and isinstance(period[1], dict):
            amount = _dec(period[1].get("value"))
            if amount is not None and 0 < amount <= 10_000:
                item.observation_link_period = (amount, str(period[1].get("code") or "d"))

    def _behaviour(self, item: FormItem, raw: dict[str, Any]) -> None:
        """enableWhen, expressions, initial values."""
        conditions: list[EnableWhen] = []
        for cond in _list(raw.get("enableWhen")):
            parsed = _enable_when(cond)
            if parsed is None:
                # Safe default: an item whose conditions cannot be read is always shown (nothing is hidden
                # that the person might need to answer); the form's owner is told.
                item.notes.append("an enableWhen cannot be read, so this item is always shown")
                conditions = []
                break
            conditions.append(parsed)
        item.enable_when = tuple(conditions)
        behavior = raw.get("enableBehavior")
        item.enable_behavior = behavior if behavior in ("all", "any") else "any"
        item.enable_when_expression = _expression(_ext(raw, URL_ENABLE_WHEN_EXPR), item.notes)
        item.calculated_expression = _expression(_ext(raw, URL_CALCULATED), item.notes)
        item.initial_expression = _expression(_ext(raw, URL_INITIAL_EXPR), item.notes, _QUERY_OK)
        item.candidate_expression = _expression(_ext(raw, URL_CANDIDATE_EXPR), item.notes, _QUERY_OK)
        item.answer_expression = _expression(_ext(raw, URL_ANSWER_EXPR), item.notes, _QUERY_OK)
        item.variables = tuple(e for e in (_expression(x, item.notes, _QUERY_OK) for x in _exts(raw, URL_VARIABLE)) if e)
        if item.item_control and item.item_control not in KNOWN_ITEM_CONTROLS:
            item.notes.append(f"the itemControl {item.item_control[:40]!r} is unknown; the usual control is shown")
        item.initial = tuple(
            (k[5:], v)
            for init in _list(raw.get("initial"))
            if isinstance(init, dict)
            for k, v in init.items()
            if k.startswith("value") and _well_formed(k[5:], v)
        )

    def _options(self, item: FormItem, raw: dict[str, Any]) -> None:
        """answerOption, or a contained/expanded answerValueSet; never fetched."""
        options: list[Option] = []
        for opt in _list(raw.get("answerOption")):
            if not isinstance(opt, dict):
                continue
            value = next(((k[5:], v) for k, v in opt.items() if k.startswith("value")), None)
            raw_value = value[1] if value else None
            if value and value[0] == "Coding":
                value = ("Coding", _coding(value[1]))
            if value and _well_formed(*value):
                options.append(_make_option(value[0], value[1], opt, opt.get("initialSelected") is True, raw_value))
        vs_ref = raw.get("answerValueSet")
        if not options and isinstance(vs_ref, str):
            vs = self.contained.get(vs_ref if vs_ref.startswith("#") else vs_ref.split("|")[0])
            resolved = options_from_value_set(vs) if vs else None
            if vs is None:
                # Not contained: never fetched from its URL (an SSRF hole). The EHR's own $expand
                # may replace this later (with_expansions); until then a bundled expansion serves.
                item.answer_value_set = vs_ref
                bundled = bundled_value_set(vs_ref)
                resolved = options_from_value_set(bundled) if bundled else None
                item.options_source = SOURCE_BUNDLED if resolved else SOURCE_NONE
            if resolved is None:
                item.options_note = FREE_TEXT_NOTE
            else:
                options = resolved
        if len(options) > MAX_OPTIONS:
            raise QuestionnaireTooLarge(
                Text("Item %(link_id)s has more than %(count)s answer options.", link_id=repr(item.link_id), count=MAX_OPTIONS)
            )
        item.options = tuple(options)


def _launch_contexts(q: dict[str, Any]) -> tuple[LaunchContextSpec, ...]:
    """Declared SDC launchContext entries (name + types)."""
    specs = []
    for ext in _exts(q, URL_LAUNCH_CONTEXT):
        name = None
        types: list[str] = []
        for sub in _list(ext.get("extension")):
            if not isinstance(sub, dict):
                continue
            if sub.get("url") == "name":
                val = _value(sub)
                if val and val[0] == "Coding" and isinstance(val[1], dict):
                    name = val[1].get("code") if isinstance(val[1].get("code"), str) else None
                elif val and isinstance(val[1], str):
                    name = val[1]
            elif sub.get("url") == "type" and isinstance(sub.get("valueCode"), str):
                types.append(sub["valueCode"])
        if name:
            specs.append(LaunchContextSpec(name, tuple(types)))
    return tuple(specs)


def build_form(questionnaire: Any) -> Form:
    """Parse a Questionnaire into a Form, or raise a typed error with a plain message."""
    if not isinstance(questionnaire, dict) or questionnaire.get("resourceType") != "Questionnaire":
        raise UnsupportedQuestionnaire(N_("This is not a FHIR Questionnaire."))
    if questionnaire.get("modifierExtension"):
        raise UnsupportedQuestionnaire(
            N_("This questionnaire carries a modifier extension this app does not understand.")
        )
    builder = _Builder(questionnaire)
    try:
        items = builder.build()
    except (TypeError, AttributeError, KeyError, ValueError) as error:
        # Last line of defence at the boundary: malformed JSON is a refusal, never a crash.
        log.info("questionnaire refused as malformed: %s", type(error).__name__)
        raise UnsupportedQuestionnaire(N_("This questionnaire is not well-formed FHIR JSON.")) from None
    by_link_id = builder.by_link_id
    dependents: dict[str, list[FormItem]] = {}
    for item in by_link_id.values():
        if any(cond.question not in by_link_id for cond in item.enable_when):
            item.notes.append("an enableWhen names a question that does not exist, so this item is always shown")
            item.enable_when = ()
        for cond in item.enable_when:
            dependents.setdefault(cond.question, []).append(item)
    form_notes: list[str] = []
    variables = tuple(e for e in (_expression(x, form_notes, _QUERY_OK) for x in _exts(questionnaire, URL_VARIABLE)) if e)
    launch_context = _launch_contexts(questionnaire)
    for spec in launch_context:
        if spec.name.lower() not in STANDARD_LAUNCH_CONTEXT:
            form_notes.append(f"launchContext {spec.name[:40]!r} is not a standard SDC name; it stays empty")
        elif spec.name != spec.name.lower():
            form_notes.append(f"launchContext {spec.name[:40]!r} is matched as {spec.name.lower()!r}")
    notes = [("", n) for n in form_notes] + [(i.link_id, n) for i in by_link_id.values() for n in i.notes]
    for link_id, note in notes:
        # ids and our own wording only: never the form's text
        log.info("questionnaire %s degraded at %r: %s", str(questionnaire.get("id") or "")[:64], link_id[:64], note)
    extract = _value(_ext(questionnaire, URL_OBS_EXTRACT))
    return Form(
        questionnaire=questionnaire,
        url=questionnaire.get("url"),
        version=questionnaire.get("version"),
        title=str(questionnaire.get("title") or questionnaire.get("name") or "Questionnaire"),
        items=items,
        by_link_id=by_link_id,
        code=_codings(questionnaire.get("code")),
        variables=variables,
        launch_context=launch_context,
        observation_extract=extract[1] if extract and isinstance(extract[1], bool) else None,
        dependents=dependents,
        notes=notes,
    )


def add_reference_candidates(form: Form, candidates: dict[str, list[dict[str, Any]]]) -> None:
    """Offer caller-supplied References (e.g. the care team) as choices for reference items.

    `candidates` maps linkId -> Reference dicts ({"reference": "Practitioner/1", "display": ...}).
    Only reference-type items without their own answerOption are changed.
    """
    for link_id, references in candidates.items():
        item = form.by_link_id.get(link_id)
        if item is None or item.type != "reference" or item.options:
            continue
        item.options = tuple(
            _make_option("Reference", dict(ref), {})
            for ref in references[:MAX_OPTIONS]
            if isinstance(ref, dict) and ref.get("reference")
        )


def with_expansions(form: Form, expansions: dict[str, dict[str, Any]]) -> Form:
    """A copy of `form` whose non-contained value sets use these expansions (canonical -> expanded ValueSet).

    The shared, cached form is never changed; items without a usable expansion keep what they
    had (a bundled expansion or the free-text fallback). Returns `form` itself when nothing applies.
    """
    usable: dict[str, tuple[Option, ...]] = {}
    for canonical, vs in expansions.items():
        options = options_from_value_set(vs) if isinstance(vs, dict) else None
        if options and len(options) <= MAX_OPTIONS:
            usable[canonical] = tuple(options)
    if not any(i.answer_value_set in usable for i in form.by_link_id.values()):
        return form
    # Copy the item tree only: the raw Questionnaire stays the one shared, read-only object.
    copied = copy.deepcopy(form, memo={id(form.questionnaire): form.questionnaire})
    for item in copied.by_link_id.values():
        expanded = usable.get(item.answer_value_set or "")
        if expanded is not None:
            item.options, item.options_source, item.options_note = expanded, SOURCE_EHR, None
    return copied
