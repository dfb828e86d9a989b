"""JSON for FHIR resources that hold Decimal values: numbers are written exactly as typed."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def loads(text: str | bytes) -> Any:
    """Parse FHIR JSON keeping decimals exact (never via float)."""
    return json.loads(text, parse_float=Decimal)


def dumps(resource: Any) -> str:
    """Serialise with Decimals as JSON numbers (70.50 stays 70.50), without float rounding.

    Floats from JSON parsed elsewhere are written as the json module writes them.
    """
    parts: list[str] = []
    stack: list[Any] = [resource]
    while stack:
        value = stack.pop()
        if isinstance(value, _Token):
            parts.append(value.text)
        elif isinstance(value, dict):
            stack.append(_Token("}"))
            entries = list(value.items())
            for index in range(len(entries) - 1, -1, -1):
                key, child = entries[index]
                stack.append(child)
                stack.append(_Token(("," if index else "") + json.dumps(str(key)) + ":"))
            parts.append("{")
        elif isinstance(value, (list, tuple)):
            stack.append(_Token("]"))
            for index in range(len(value) - 1, -1, -1):
                stack.append(value[index])
                if index:
                    stack.append(_Token(","))
            parts.append("[")
        elif isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError("FHIR decimals must be finite")
            parts.append(_decimal_text(value))
        elif isinstance(value, float) and not (value == value and abs(value) != float("inf")):
            raise ValueError("FHIR decimals must be finite")
        else:  # str, int, bool, None; a float (parsed elsewhere) is written as json writes it
            parts.append(json.dumps(value))
    return "".join(parts)


def _decimal_text(value: Decimal) -> str:
    """A JSON number literal preserving the Decimal's digits."""
    text = str(value)
    return text if "E" not in text else format(value, "f")


class _Token:
    """Literal JSON punctuation pushed on the work stack."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        """Hold the literal text."""
        self.text = text
