"""SDC template-based and definition-based extraction: a completed response -> proposed resources.

Specs: https://build.fhir.org/ig/HL7/sdc/extraction.html (SDC 4.0) #template-based-extraction
(`sdc-questionnaire-templateExtract` naming a contained template, whose elements carry
`templateExtractContext` / `templateExtractValue` FHIRPath) and #definition-based-extraction
(`sdc-questionnaire-definitionExtract` naming the resource type, items' `definition`
"<canonical>#<Type.path>", and `definitionExtractValue` fixed or computed values);
`sdc-questionnaire-extractAllocateId` names a variable holding a new id.

What a pre-visit app may do with the result is narrower than the spec's open-ended
$extract, so these rules are this module's contract:
- Only the types a pre-visit form plausibly creates are extracted: Observation, Condition,
  AllergyIntolerance, MedicationStatement, FamilyMemberHistory, RelatedPerson; anything else
  is reported in `skipped`, never written.
- Who a resource is about always comes from the launch (ExtractMeta.subject), whatever the
  form computed: a form cannot file data under another patient.
- A Patient is never overwritten: the extracted Patient becomes a *proposal* for the clinician,
  a Task (intent `proposal`, code `change`) that contains the proposed Patient and points at
  the real one (see docs/extraction.md). An `extractAllocateId` variable used as the Patient's
  fullUrl therefore means "this patient" and is bound to the launch patient's reference.
- Patient-reported problems and allergies are `unconfirmed` unless the form says otherwise.
Pure: no I/O; expressions run with fhirpathpy on the response.
"""
from __future__ import annotations

import copy
import logging
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator

from fhirpathpy import evaluate as fhirpath_evaluate
from fhirpathpy.models import models

from .extraction import ExtractMeta
from .library import shared

log = logging.getLogger(__name__)
_R4 = models["r4"]

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
URL_TEMPLATE_EXTRACT = SDC + "sdc-questionnaire-templateExtract"
URL_TEMPLATE_CONTEXT = SDC + "sdc-questionnaire-templateExtractContext"
URL_TEMPLATE_VALUE = SDC + "sdc-questionnaire-templateExtractValue"
URL_DEFINITION_EXTRACT = SDC + "sdc-questionnaire-definitionExtract"
URL_DEFINITION_VALUE = SDC + "sdc-questionnaire-definitionExtractValue"
URL_ALLOCATE_ID = SDC + "sdc-questionnaire-extractAllocateId"
_TEMPLATE_URLS = (URL_TEMPLATE_CONTEXT, URL_TEMPLATE_VALUE)

EXTRACTABLE = ("Observation", "Condition", "AllergyIntolerance", "MedicationStatement", "FamilyMemberHistory",
               "RelatedPerson")
PROPOSAL_TYPE = "Task"  # how a Patient update travels: a proposal for clinician review
TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
MAX_RESOURCES = 200  # per response: a hostile form cannot flood the transaction

# Where each type names its patient (set from the launch, never from the form).
SUBJECT_ELEMENT = {"Observation": "subject", "Condition": "subject", "AllergyIntolerance": "patient",
                   "MedicationStatement": "subject", "FamilyMemberHistory": "patient", "RelatedPerson": "patient"}
ENCOUNTER_ELEMENT = {"Observation": "encounter", "Condition": "encounter", "AllergyIntolerance": "encounter",
                     "MedicationStatement": "context"}
VERIFICATION = {
    "Condition": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
    "AllergyIntolerance": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
}
DEFAULT_STATUS = {"Observation": "final", "MedicationStatement": "active", "FamilyMemberHistory": "completed"}

# Element names that are arrays in the R4 types above (enough to place definition-based values).
_ARRAYS = frozenset({
    "name", "given", "prefix", "suffix", "telecom", "identifier", "address", "line", "contact", "relationship",
    "coding", "category", "performer", "derivedFrom", "component", "reaction", "manifestation", "condition",
    "dosage", "note", "reasonCode", "basedOn", "partOf", "interpretation", "focus", "communication",
    "generalPractitioner", "photo", "bodySite", "evidence", "stage", "hasMember",
})
# Elements whose name is an array elsewhere but single here.
_SINGLE = frozenset({"FamilyMemberHistory.relationship", "AllergyIntolerance.reaction.substance"})
# Primitive `code` elements (a Coding answer gives its code here).
_CODES = frozenset({
    "Patient.gender", "RelatedPerson.gender", "Observation.status", "MedicationStatement.status",
    "FamilyMemberHistory.status", "AllergyIntolerance.type", "AllergyIntolerance.category",
    "AllergyIntolerance.criticality", "Patient.telecom.system", "Patient.telecom.use",
    "RelatedPerson.telecom.system", "RelatedPerson.telecom.use", "Patient.name.use", "Patient.address.use",
    "AllergyIntolerance.reaction.severity",
})
# Choice elements written without `[x]` in some forms (e.g. "Observation.effective").
_CHOICES = frozenset({"value", "effective", "onset", "abatement", "medication", "deceased", "multipleBirth",
                      "born", "age", "occurrence", "timing"})
_REFERENCE_KEYS = frozenset({"subject", "patient", "encounter", "performer", "derivedFrom", "context", "focus",
                             "for", "requester", "asserter", "recorder", "informationSource", "basedOn",
                             "hasMember", "partOf", "generalPractitioner", "managingOrganization"})
_PATH_RE = re.compile(r"^[A-Z][A-Za-z]+(\.[A-Za-z]+(\[x\])?(:[A-Za-z]+)?)*$")


@dataclass(frozen=True)
class Extracted:
    """One resource a response yields, with a key stable within the submission (for its identifier)."""

    resource: dict[str, Any]
    key: str
    proposal: bool = False  # a Task carrying a proposed Patient update (never applied by the app)


@dataclass
class ExtractionResult:
    """Everything a response yields, and what the app would not write (type names, for the owner)."""

    resources: list[Extracted] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------- helpers


def _exts(element: Any, url: str) -> list[dict[str, Any]]:
    """Extensions with this url on a JSON element."""
    if not isinstance(element, dict):
        return []
    return [e for e in element.get("extension") or [] if isinstance(e, dict) and e.get("url") == url]


def _sub(ext: dict[str, Any], name: str) -> Any:
    """value[x] of a named sub-extension."""
    for sub in ext.get("extension") or []:
        if isinstance(sub, dict) and sub.get("url") == name:
            return next((v for k, v in sub.items() if k.startswith("value")), None)
    return None


def _expression_text(ext: dict[str, Any]) -> str | None:
    """FHIRPath text of an extension whose value is a string or an Expression."""
    if isinstance(text := ext.get("valueString"), str):
        return text
    expr = ext.get("valueExpression")
    if isinstance(expr, dict) and expr.get("language", "text/fhirpath") == "text/fhirpath":
        return expr.get("expression") if isinstance(expr.get("expression"), str) else None
    return None


def _plain(value: Any) -> Any:
    """A FHIRPath result as JSON-ready data (Decimal kept exact; engine types as their text)."""
    if isinstance(value, (str, bool, int, Decimal, dict, list)) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    return str(value)


class _Evaluator:
    """Runs FHIRPath on the response, reporting (not raising) failures."""

    def __init__(self, qr: dict[str, Any], env: dict[str, Any], result: ExtractionResult) -> None:
        """Bind the response (%resource) and variables."""
        self.qr = qr
        self.env = {"resource": qr, "rootResource": qr, **env}
        self.result = result

    def run(self, context: Any, expression: str, where: str, extra: dict[str, Any] | None = None) -> list[Any]:
        """Evaluate on a context: a QR item (typed by its path), the response, or a plain value."""
        env = {**self.env, **(extra or {})}
        try:
            if isinstance(context, dict) and "linkId" in context:
                # A QR item has no resourceType: name its place so choice elements (answer.value) resolve.
                path: Any = {"base": "QuestionnaireResponse.item", "expression": expression}
                found = fhirpath_evaluate(context, path, env, _R4)
            else:
                found = fhirpath_evaluate(context, expression, env, _R4)
        except Exception as error:  # fhirpathpy raises bare Exception; the form author's bug, not a crash
            self.result.problems.append(f"{where}: {type(error).__name__}")
            log.info("extraction expression failed at %s: %s", where, type(error).__name__)
            return []
        return [_plain(v) for v in found]


def _qr_items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every QR item (including those nested under answers), document order, iteratively."""
    stack = list(reversed(items))
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        yield node
        children = list(node.get("item") or [])
        for answer in node.get("answer") or []:
            children += answer.get("item") or []
        stack.extend(reversed(children))


def _q_items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every Questionnaire item, document order, iteratively."""
    stack = list(reversed(items))
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(reversed(node.get("item") or []))


def _instances(qr: dict[str, Any], link_id: str) -> list[dict[str, Any]]:
    """The QR item instances with this linkId (one per repetition of its group)."""
    return [n for n in _qr_items(qr.get("item") or []) if n.get("linkId") == link_id]


def _answer_values(node: dict[str, Any]) -> list[tuple[str, Any]]:
    """(suffix, value) of each answer of a QR item."""
    out = []
    for answer in node.get("answer") or []:
        for key, value in answer.items():
            if key.startswith("value"):
                out.append((key[5:], value))
    return out


# --------------------------------------------------------------------------------------- variables


def _allocated(questionnaire: dict[str, Any], meta: ExtractMeta, seed: str) -> dict[str, str]:
    """extractAllocateId variables: the Patient's one means the launch patient; others a stable urn."""
    names = [e.get("valueString") for item in [questionnaire, *_q_items(questionnaire.get("item") or [])]
             for e in _exts(item, URL_ALLOCATE_ID) if isinstance(e.get("valueString"), str)]
    patient_vars = set()
    for item in [questionnaire, *_q_items(questionnaire.get("item") or [])]:
        for ext in _exts(item, URL_TEMPLATE_EXTRACT) + _exts(item, URL_DEFINITION_EXTRACT):
            full_url = _sub(ext, "fullUrl")
            if isinstance(full_url, str) and full_url.startswith("%") and _names_patient(questionnaire, ext):
                patient_vars.add(full_url[1:])
    subject = (meta.subject or {}).get("reference")
    out = {}
    for name in names:
        if name in patient_vars and subject:
            out[name] = subject
        else:
            out[name] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{seed}|{name}')}"
    return out


def _names_patient(questionnaire: dict[str, Any], ext: dict[str, Any]) -> bool:
    """Whether a templateExtract/definitionExtract extension produces a Patient."""
    definition = _sub(ext, "definition")
    if isinstance(definition, str):
        return definition.rstrip("/").rsplit("/", 1)[-1] == "Patient"
    template = _template(questionnaire, _sub(ext, "template"))
    return template is not None and bool(template) and template.get("resourceType") == "Patient"


def _template(questionnaire: dict[str, Any], ref: Any) -> dict[str, Any] | None:
    """The contained resource a templateExtract names ("#id")."""
    target = ref.get("reference") if isinstance(ref, dict) else None
    if not isinstance(target, str) or not target.startswith("#"):
        return None
    return next((r for r in questionnaire.get("contained") or []
                 if isinstance(r, dict) and r.get("id") == target[1:]), None)


# --------------------------------------------------------------------------------------- templates


class _TemplateFiller:
    """Fills one cloned template against one context (SDC templateExtractContext/Value rules)."""

    def __init__(self, ev: _Evaluator, where: str) -> None:
        """Remember the evaluator and a label for problems."""
        self.ev = ev
        self.where = where

    def fill(self, element: Any, context: Any) -> Any:
        """The filled element, or None when its context or value evaluates to nothing (removed)."""
        if isinstance(element, list):
            out = []
            for entry in element:
                out.extend(self._expand(entry, context))
            return out or None
        values = self._expand(element, context)
        return values[0] if values else None

    def _expand(self, element: Any, context: Any) -> list[Any]:
        """One template element -> its filled copies (a context with n results gives n copies)."""
        if not isinstance(element, dict):
            return [element]
        contexts = [context]
        for ext in _exts(element, URL_TEMPLATE_CONTEXT):
            text = _expression_text(ext)
            contexts = self.ev.run(context, text, self.where) if text else []
        out = []
        for ctx in contexts:
            value_ext = next(iter(_exts(element, URL_TEMPLATE_VALUE)), None)
            if value_ext is not None:
                text = _expression_text(value_ext)
                out.extend(self.ev.run(ctx, text, self.where) if text else [])
                continue
            filled = self._object(element, ctx)
            if filled:
                out.append(filled)
        return out

    def _object(self, element: dict[str, Any], context: Any) -> dict[str, Any]:
        """A complex element's own keys filled: primitives from their `_key` value expressions."""
        out: dict[str, Any] = {}
        for key, value in element.items():
            if key == "extension":
                kept = [e for e in value or [] if not (isinstance(e, dict) and e.get("url") in _TEMPLATE_URLS)]
                if kept:
                    out["extension"] = kept
                continue
            if key.startswith("_"):
                continue
            if key in ("id",) and element.get("resourceType"):
                continue
            filled = self.fill(value, context)
            if filled is not None:
                out[key] = filled
        for key, shadow in element.items():
            if not key.startswith("_"):
                continue
            name = key[1:]
            entries = shadow if isinstance(shadow, list) else [shadow]
            results: list[Any] = []
            for entry in entries:
                ext = next(iter(_exts(entry, URL_TEMPLATE_VALUE)), None)
                text = _expression_text(ext) if ext else None
                if text:
                    results.extend(v for v in self.ev.run(context, text, self.where) if not isinstance(v, dict))
            if results:
                out[name] = results if isinstance(shadow, list) else results[0]
            else:
                out.pop(name, None)  # no value: the element is removed, as the spec says
        return out


def _as_reference(resource: dict[str, Any]) -> dict[str, Any]:
    """Reference-typed elements filled with a bare string become {"reference": ...}."""
    def fix(value: Any, key: str | None) -> Any:
        """Recursively rewrite."""
        if isinstance(value, list):
            return [fix(v, key) for v in value]
        if isinstance(value, dict):
            return {k: fix(v, k) for k, v in value.items()}
        if key in _REFERENCE_KEYS and isinstance(value, str):
            return {"reference": value}
        return value
    return {k: fix(v, k) for k, v in resource.items()}


def _template_resources(form_q: dict[str, Any], qr: dict[str, Any], ev: _Evaluator, result: ExtractionResult) -> Iterator[tuple[dict[str, Any], str]]:
    """(resource, key) for every templateExtract on the Questionnaire and its items."""
    holders = [(form_q, None)] + [(i, i.get("linkId")) for i in _q_items(form_q.get("item") or [])]
    for holder, link_id in holders:
        for n, ext in enumerate(_exts(holder, URL_TEMPLATE_EXTRACT)):
            template = _template(form_q, _sub(ext, "template"))
            if template is None:
                result.problems.append(f"{link_id or 'questionnaire'}: templateExtract names no contained template")
                continue
            contexts = [qr] if link_id is None else _instances(qr, link_id)
            for i, context in enumerate(contexts):
                if link_id is not None and not context.get("answer") and not context.get("item"):
                    continue  # an unanswered item extracts nothing
                filler = _TemplateFiller(ev, f"{link_id or 'questionnaire'} template {template.get('id')}")
                filled = filler.fill(copy.deepcopy(template), context)
                if isinstance(filled, dict) and filled.get("resourceType"):
                    filled.pop("id", None)
                    yield _as_reference(filled), f"tpl/{link_id or '_'}/{template.get('id')}/{n}/{i}"


# --------------------------------------------------------------------------------------- definitions


def _element_path(definition: Any, canonical: str) -> list[str] | None:
    """["Patient", "name", "given"] from "<canonical>#Patient.name.given" (choice names resolved later)."""
    if not isinstance(definition, str) or "#" not in definition:
        return None
    base, _, path = definition.partition("#")
    if base != canonical or not _PATH_RE.match(path):
        return None
    return path.split(".")


def _is_choice(segment: str, depth: int) -> bool:
    """`value[x]`, or a top-level choice element named without `[x]` (e.g. "Observation.effective")."""
    name = segment.partition(":")[0]
    return name.endswith("[x]") or (depth == 1 and name in _CHOICES)


def _key_for(segment: str, suffix: str | None, depth: int) -> str:
    """The JSON key for one path segment: `value[x]:valueQuantity` -> valueQuantity; `effective` + DateTime."""
    name, _, slice_name = segment.partition(":")
    if slice_name:
        return slice_name
    bare = name.removesuffix("[x]")
    if _is_choice(segment, depth) and suffix:
        return bare + suffix
    return bare


def _suffix_of(value: Any, answer_suffix: str | None) -> str | None:
    """The FHIR type suffix of a value for a choice element."""
    if answer_suffix:
        # A date fits dateTime and a Coding a CodeableConcept (what the R4 choice elements here take).
        return {"Decimal": "Quantity", "Uri": "String", "Date": "DateTime",
                "Coding": "CodeableConcept"}.get(answer_suffix, answer_suffix)
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, (int, Decimal)):
        return "Quantity"
    if isinstance(value, str):
        return "DateTime" if re.match(r"^\d{4}(-\d\d(-\d\d(T.*)?)?)?$", value) else "String"
    if isinstance(value, dict):
        return "CodeableConcept" if "code" in value or "coding" in value else "Quantity" if "value" in value else None
    return None


def _shape(value: Any, full_path: str, key: str, suffix: str | None) -> Any:
    """Convert an answer to what the target element holds (code, Coding, CodeableConcept, Quantity...)."""
    if full_path in _CODES:
        return value.get("code") if isinstance(value, dict) else value
    if isinstance(value, dict) and "code" in value and "coding" not in value:  # a Coding answer
        if key == "coding":
            return value
        concept: dict[str, Any] = {"coding": [value]}
        if value.get("display"):
            concept["text"] = value["display"]
        return concept
    if key == "valueQuantity" and not isinstance(value, dict):
        return {"value": value}
    if key in ("code", "relationship", "clinicalStatus", "verificationStatus", "severity", "sex", "outcome",
               "medicationCodeableConcept", "substance", "type") and isinstance(value, str) and full_path not in _CODES:
        return {"text": value}
    if key in _REFERENCE_KEYS and isinstance(value, str):
        return {"reference": value}
    return value


def _place(resource: dict[str, Any], path: list[str], value: Any, suffix: str | None, *, new_entry: bool = False) -> dict[str, Any] | None:
    """Put `value` at `path` (path[0] names `resource`'s own element path, e.g. "Patient" or
    "Patient.name"); arrays get a new entry or extend the last one.

    Returns the object created for a group (new_entry) so its children write into it.
    """
    node: Any = resource
    full = path[0]
    base_depth = full.count(".")
    for i, segment in enumerate(path[1:], start=1):
        last = i == len(path) - 1
        depth = base_depth + i
        if last and _is_choice(segment, depth):
            suffix = _suffix_of(value, suffix)
        key = _key_for(segment, suffix if last else None, depth)
        full = f"{full}.{segment.partition(':')[0].removesuffix('[x]')}"
        is_array = segment.partition(":")[0].removesuffix("[x]") in _ARRAYS and full not in _SINGLE
        if last:
            shaped = _shape(value, full, key, suffix) if not new_entry else value
            if is_array:
                node.setdefault(key, []).append(shaped)
                return shaped if new_entry else None
            if key.startswith("valueQuantity") and isinstance(node.get(key), dict) and isinstance(shaped, dict):
                node[key].update(shaped)
            elif isinstance(node.get(key), dict) and isinstance(shaped, dict):
                node[key].update(shaped)
            else:
                node[key] = shaped
            return shaped if new_entry else None
        if is_array:
            entries = node.setdefault(key, [])
            if not entries:
                entries.append({})
            node = entries[-1]
        else:
            node = node.setdefault(key, {})
    return None


class _DefinitionBuilder:
    """Builds the resources of definition-based extraction."""

    def __init__(self, form_q: dict[str, Any], qr: dict[str, Any], ev: _Evaluator, result: ExtractionResult) -> None:
        """Keep the inputs."""
        self.q = form_q
        self.qr = qr
        self.ev = ev
        self.result = result

    def resources(self) -> Iterator[tuple[dict[str, Any], str]]:
        """(resource, key) for each definitionExtract on the Questionnaire or its items."""
        holders = [(self.q, None)] + [(i, i.get("linkId")) for i in _q_items(self.q.get("item") or [])]
        for holder, link_id in holders:
            for ext in _exts(holder, URL_DEFINITION_EXTRACT):
                canonical = _sub(ext, "definition")
                if not isinstance(canonical, str):
                    continue
                type_ = self._type_of(holder, canonical)
                if type_ is None:
                    self.result.problems.append(f"{link_id or 'questionnaire'}: definitionExtract type unknown")
                    continue
                contexts = [self.qr] if link_id is None else _instances(self.qr, link_id)
                for i, context in enumerate(contexts):
                    resource = {"resourceType": type_}
                    self._fixed_values(holder, canonical, resource, context)
                    if holder is self.q:
                        children = self.q.get("item") or []
                        answers = self.qr.get("item") or []
                    else:
                        children = holder.get("item") or []
                        answers = list(context.get("item") or []) + [c for a in context.get("answer") or []
                                                                     for c in a.get("item") or []]
                        self._item_value(holder, context, canonical, resource, with_fixed=False)
                    self._children(children, answers, canonical, resource, None)
                    if len(resource) > 1:
                        yield resource, f"def/{link_id or '_'}/{i}"

    def _type_of(self, holder: dict[str, Any], canonical: str) -> str | None:
        """The resource type: from the children's definition paths, else the canonical's last segment."""
        for item in [holder, *_q_items(holder.get("item") or [])]:
            path = _element_path(item.get("definition"), canonical)
            if path:
                return path[0]
            for ext in _exts(item, URL_DEFINITION_VALUE):
                path = _element_path(_sub(ext, "definition"), canonical)
                if path:
                    return path[0]
        tail = canonical.rstrip("/").rsplit("/", 1)[-1]
        return tail if re.fullmatch(r"[A-Z][A-Za-z]+", tail) else None

    def _fixed_values(self, holder: dict[str, Any], canonical: str, resource: dict[str, Any], context: Any) -> None:
        """definitionExtractValue on the extracting element: fixed or computed values."""
        for ext in _exts(holder, URL_DEFINITION_VALUE):
            path = _element_path(_sub(ext, "definition"), canonical)
            if not path:
                continue
            fixed = next((v for s in ext.get("extension") or [] if s.get("url") == "fixed-value"
                          for k, v in s.items() if k.startswith("value")), None)
            suffix = next((k[5:] for s in ext.get("extension") or [] if s.get("url") == "fixed-value"
                           for k in s if k.startswith("value")), None)
            values = [fixed] if fixed is not None else []
            expression = _sub(ext, "expression")
            if fixed is None and isinstance(expression, dict) and isinstance(expression.get("expression"), str):
                values = self.ev.run(context, expression["expression"], f"{holder.get('linkId')} definitionExtractValue")
                suffix = None
            for value in values[:1] if path[-1] not in _ARRAYS else values:
                _place(resource, path, value, suffix if suffix not in ("Code", "Uri", "String") else None)

    def _item_value(self, item: dict[str, Any], node: dict[str, Any], canonical: str, resource: dict[str, Any],
                    target: tuple[list[str], dict[str, Any]] | None = None, *, with_fixed: bool = True) -> None:
        """An answered item with a definition writes its answers there (and its own fixed values)."""
        path = _element_path(item.get("definition"), canonical)
        if not path or item.get("type") == "group":
            return
        if with_fixed:
            self._fixed_values(item, canonical, resource, node)
        for suffix, value in _answer_values(node):
            self._write(resource, path, value, suffix, target)

    @staticmethod
    def _write(resource: dict[str, Any], path: list[str], value: Any, suffix: str | None,
               target: tuple[list[str], dict[str, Any]] | None) -> None:
        """Write relative to a group's entry when the path lies under it, else from the resource."""
        if target and path[:len(target[0])] == target[0] and len(path) > len(target[0]):
            _place(target[1], [".".join(target[0]), *path[len(target[0]):]], value, suffix)
        else:
            _place(resource, path, value, suffix)

    def _children(self, items: list[dict[str, Any]], answers: list[dict[str, Any]], canonical: str, resource: dict[str, Any],
                  target: tuple[list[str], dict[str, Any]] | None) -> None:
        """Walk child items (not into items that start their own extraction)."""
        for item in items:
            if _exts(item, URL_DEFINITION_EXTRACT):
                continue
            nodes = [n for n in answers if n.get("linkId") == item.get("linkId")]
            path = _element_path(item.get("definition"), canonical)
            for node in nodes:
                if item.get("type") == "group":
                    inner = target
                    if path:
                        entry = _place(resource, path, {}, None, new_entry=True)
                        inner = (path, entry) if isinstance(entry, dict) else target
                        for ext in _exts(item, URL_DEFINITION_VALUE):
                            p = _element_path(_sub(ext, "definition"), canonical)
                            if p and inner and p[:len(path)] == path and isinstance(entry, dict):
                                self._fixed_into(ext, [".".join(path), *p[len(path):]], entry, node)
                    self._children(item.get("item") or [], list(node.get("item") or []), canonical, resource, inner)
                else:
                    self._item_value(item, node, canonical, resource, target)
                    nested = [c for a in node.get("answer") or [] for c in a.get("item") or []]
                    if nested:
                        self._children(item.get("item") or [], nested, canonical, resource, target)

    def _fixed_into(self, ext: dict[str, Any], relative: list[str], entry: dict[str, Any], context: Any) -> None:
        """A definitionExtractValue whose path lies inside a group's entry."""
        expression = _sub(ext, "expression")
        fixed = next((v for s in ext.get("extension") or [] if s.get("url") == "fixed-value"
                      for k, v in s.items() if k.startswith("value")), None)
        values = [fixed] if fixed is not None else (
            self.ev.run(context, expression["expression"], "definitionExtractValue")
            if isinstance(expression, dict) and isinstance(expression.get("expression"), str) else [])
        for value in values[:1]:
            _place(entry, relative, value, None)


# --------------------------------------------------------------------------------------- binding


def _bind(resource: dict[str, Any], meta: ExtractMeta) -> dict[str, Any]:
    """Who and when from the launch; safe defaults for what a patient reports."""
    type_ = resource["resourceType"]
    subject = SUBJECT_ELEMENT.get(type_)
    if subject and meta.subject:
        resource[subject] = dict(meta.subject)
    encounter = ENCOUNTER_ELEMENT.get(type_)
    if encounter and meta.encounter:
        resource[encounter] = dict(meta.encounter)
    if type_ in DEFAULT_STATUS and not resource.get("status"):
        resource["status"] = DEFAULT_STATUS[type_]
    if type_ in VERIFICATION and not resource.get("verificationStatus"):
        resource["verificationStatus"] = {"coding": [{"system": VERIFICATION[type_], "code": "unconfirmed",
                                                      "display": "Unconfirmed"}]}
    if type_ == "Observation" and meta.effective and not any(k.startswith("effective") for k in resource):
        resource["effectiveDateTime"] = meta.effective
    if type_ == "Condition" and meta.effective and not resource.get("recordedDate"):
        resource["recordedDate"] = meta.effective
    if type_ == "AllergyIntolerance" and meta.effective and not resource.get("recordedDate"):
        resource["recordedDate"] = meta.effective
    if type_ == "MedicationStatement" and meta.effective and not resource.get("dateAsserted"):
        resource["dateAsserted"] = meta.effective
    if type_ == "FamilyMemberHistory" and meta.effective and not resource.get("date"):
        resource["date"] = meta.effective
    if type_ == "Observation":
        # The write-back layer links it to this submission's response.
        resource["derivedFrom"] = [dict(meta.derived_from)]
    return resource


def _missing_required(resource: dict[str, Any]) -> str | None:
    """What a resource lacks to be valid R4 (such resources are not written)."""
    type_ = resource["resourceType"]
    if type_ == "Observation" and not resource.get("code"):
        return "code"
    if type_ == "MedicationStatement" and not any(k.startswith("medication") for k in resource):
        return "medication"
    if type_ == "FamilyMemberHistory" and not resource.get("relationship"):
        return "relationship"
    if type_ in ("Condition", "AllergyIntolerance") and not resource.get("code"):
        return "code"
    return None


def patient_proposal(proposed: dict[str, Any], meta: ExtractMeta) -> dict[str, Any]:
    """A Task asking the clinician to review a proposed Patient update (never applied by the app).

    The proposed Patient is contained and named by Task.input; Task.focus and Task.for are the
    launch's patient. https://hl7.org/fhir/R4/task.html (intent `proposal`, code `change`).
    """
    patient = {k: v for k, v in proposed.items() if k not in ("id", "meta", "text")}
    patient["id"] = "proposed-patient"
    task: dict[str, Any] = {
        "resourceType": "Task",
        "contained": [patient],
        "status": "requested",
        "intent": "proposal",
        "priority": "routine",
        "code": {"coding": [{"system": TASK_CODE, "code": "change", "display": "Change the focal resource"}],
                 "text": "Review patient-reported changes to their details"},
        "description": "Details the patient gave in a pre-visit questionnaire. Nothing was changed in the record: "
                       "review them, then update the record if they are right.",
        "input": [{"type": {"text": "Proposed patient details"}, "valueReference": {"reference": "#proposed-patient"}}],
    }
    if meta.subject:
        task["focus"] = dict(meta.subject)
        task["for"] = dict(meta.subject)
    if meta.encounter:
        task["encounter"] = dict(meta.encounter)
    if meta.effective:
        task["authoredOn"] = meta.effective
    if meta.performer:
        task["requester"] = dict(meta.performer[0])
    task["reasonReference"] = dict(meta.derived_from)
    return task


def write_types(questionnaire: dict[str, Any]) -> frozenset[str]:
    """The resource types this form's template/definition extraction would write (Patient -> Task)."""
    found: set[str] = set()
    for holder in [questionnaire, *_q_items(questionnaire.get("item") or [])]:
        for ext in _exts(holder, URL_TEMPLATE_EXTRACT):
            template = _template(questionnaire, _sub(ext, "template"))
            if template is not None:
                found.add(str(template.get("resourceType")))
        for ext in _exts(holder, URL_DEFINITION_EXTRACT):
            canonical = _sub(ext, "definition")
            if isinstance(canonical, str):
                found.add(canonical.rstrip("/").rsplit("/", 1)[-1])
    return frozenset(PROPOSAL_TYPE if t == "Patient" else t for t in found if t in (*EXTRACTABLE, "Patient"))


def write_scopes(questionnaires: list[dict[str, Any]]) -> list[str]:
    """SMART v2 create scopes these forms' extraction needs, e.g. `patient/RelatedPerson.c` (sorted)."""
    types = set().union(*(write_types(q) for q in questionnaires)) if questionnaires else set()
    return [f"patient/{t}.c" for t in sorted(types)]


def extraction_scopes() -> list[str]:
    """Write scopes the bundled forms' SDC extraction needs: asked for only when a form needs them.

    An EHR's own form that extracts more is sent without those resources (the review page says
    which) unless its scopes are added to that server's `scope` in launch.json.
    """
    return write_scopes(list(shared()))


def extract_resources(questionnaire: dict[str, Any], qr: dict[str, Any], meta: ExtractMeta, *, seed: str = "") -> ExtractionResult:
    """Template- and definition-based extraction of a completed response (see the module rules).

    `seed` makes allocated ids deterministic (the submission id); the same inputs give the same output.
    """
    result = ExtractionResult()
    env = _allocated(questionnaire, meta, seed)
    ev = _Evaluator(qr, env, result)
    found = list(_template_resources(questionnaire, qr, ev, result))
    found += list(_DefinitionBuilder(questionnaire, qr, ev, result).resources())
    for resource, key in found[:MAX_RESOURCES]:
        type_ = resource.get("resourceType")
        if type_ == "Patient":
            if set(resource) - {"resourceType", "id", "meta", "text"}:  # nothing answered: nothing to propose
                result.resources.append(Extracted(patient_proposal(resource, meta), key, proposal=True))
            continue
        if type_ not in EXTRACTABLE:
            result.skipped.append(str(type_))
            continue
        bound = _bind(resource, meta)
        missing = _missing_required(bound)
        if missing:
            result.problems.append(f"{key}: {type_} without {missing} not extracted")
            continue
        result.resources.append(Extracted(bound, key))
    return result
