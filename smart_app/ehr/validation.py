"""Every resource the app writes is checked against the FHIR R4 structure before it leaves.

fhirclient's R4 models, in strict mode, know each type's elements, their cardinality and their
primitive formats (https://hl7.org/fhir/R4/json.html). They only judge: the model is built from a
throwaway copy (our Decimals as floats, since the models compare decimals to float) and dropped;
our own JSON, with its exact decimals, stays the payload. A resource that fails is our defect,
raised as `InvalidResource` before any request, and caught by tests rather than by an EHR.
"""
from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fhirclient.models.binary import Binary
from fhirclient.models.bundle import Bundle
from fhirclient.models.domainresource import DomainResource
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirelementfactory import FHIRElementFactory
from fhirclient.models.parameters import Parameters

_TYPE_RE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_REQUIRED_RE = re.compile(r'^Non-optional property "(?P<name>\w+)"')
_UNKNOWN_RE = re.compile(r'^Superfluous entry "(?P<name>[^"]+)"')
_WRONG_TYPE_RE = re.compile(r'^Wrong type .*? for (?:list )?property "(?P<name>\w+)"')
_EXPECTING_RE = re.compile(r'^Expecting property "(?P<name>\w+)"')


class ProblemKind(enum.StrEnum):
    """Closed set of ways an outgoing resource can break the R4 structure."""

    REQUIRED = "required"                # a 1..* element is missing
    UNKNOWN_ELEMENT = "unknown-element"  # a key R4 does not define for that type
    WRONG_TYPE = "wrong-type"            # e.g. an object where a list belongs, a number for a string
    BAD_VALUE = "bad-value"              # a primitive in the wrong format (a date, an instant)
    UNKNOWN_TYPE = "unknown-type"        # no resourceType, or one R4 does not have


@dataclass(frozen=True)
class Problem:
    """One place where a resource breaks the structure: a FHIRPath-like expression and the kind."""

    expression: str
    kind: ProblemKind

    def __str__(self) -> str:
        return f"{self.expression}: {self.kind.value}"


class InvalidResource(Exception):
    """An outgoing resource that is not valid R4. Carries paths and kinds only, never values."""

    def __init__(self, resource_type: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(f"{resource_type or 'resource'} is not valid FHIR R4: "
                         + "; ".join(str(p) for p in problems))
        self.resource_type = resource_type
        self.problems = problems


def problems(resource: Mapping[str, Any]) -> tuple[Problem, ...]:
    """The structural problems of one resource (a Bundle includes its entries' resources); empty when valid."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not _TYPE_RE.match(resource_type) \
            or not _is_resource_type(resource_type):
        return (Problem("resourceType", ProblemKind.UNKNOWN_TYPE),)
    try:
        FHIRElementFactory.instantiate(resource_type, _as_model_input(resource))
    except FHIRValidationError as error:
        return tuple(dict.fromkeys(_flatten(error, resource_type)))
    except (TypeError, ValueError) as error:  # raised by a primitive (FHIRDate) outside a property
        return (Problem(resource_type, _kind_of(error)),)
    return ()


def check_outgoing(resource: Mapping[str, Any]) -> None:
    """Raise `InvalidResource` unless `resource` is structurally valid R4; called by every write."""
    found = problems(resource)
    if found:
        raise InvalidResource(str(resource.get("resourceType") or ""), found)


@functools.cache
def _is_resource_type(name: str) -> bool:
    """Whether `name` is a concrete R4 resource (the factory falls back to Element for names it lacks)."""
    model = FHIRElementFactory.instantiate(name, None)
    return isinstance(model, DomainResource | Bundle | Binary | Parameters) and model.resource_type == name \
        and name != "DomainResource"


def _as_model_input(value: Any) -> Any:
    """A copy the models accept: Decimal -> float, tuples -> lists. Only for judging, never sent."""
    if isinstance(value, Mapping):
        return {key: _as_model_input(child) for key, child in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_model_input(child) for child in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


def _flatten(error: BaseException, path: str) -> Iterator[Problem]:
    """Walk fhirclient's nested FHIRValidationError into (expression, kind) leaves."""
    if isinstance(error, FHIRValidationError):
        here = _join(path, error.path) if error.path else path
        for child in error.errors:
            yield from _flatten(child, here)
        return
    message = str(error.args[0]) if error.args else ""
    for pattern, kind in ((_REQUIRED_RE, ProblemKind.REQUIRED), (_UNKNOWN_RE, ProblemKind.UNKNOWN_ELEMENT),
                          (_WRONG_TYPE_RE, ProblemKind.WRONG_TYPE), (_EXPECTING_RE, ProblemKind.WRONG_TYPE)):
        match = pattern.match(message)
        if match:
            # A wrong type arrives wrapped in a validation error that already names its property.
            name = match["name"].removesuffix("_fhir")
            yield Problem(path if path.endswith("." + name) else _join(path, name), kind)
            return
    yield Problem(path, _kind_of(error))


def _kind_of(error: BaseException) -> ProblemKind:
    """A primitive's own complaint: a malformed value, or a value of the wrong JSON type."""
    return ProblemKind.WRONG_TYPE if isinstance(error, TypeError) else ProblemKind.BAD_VALUE


def _join(path: str, tail: str) -> str:
    """Append fhirclient's dotted path ("item.0.answer") as FHIRPath ("item[0].answer"), JSON names."""
    for part in tail.split("."):
        if part.isdigit():
            path += f"[{part}]"
        else:
            path += "." + part.removesuffix("_fhir")
    return path
