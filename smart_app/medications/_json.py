"""Defensive readers for FHIR JSON from a server: wrong shapes read as empty, never crash."""
from __future__ import annotations

from typing import Any


def obj(value: Any) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def arr(value: Any) -> list[Any]:
    """The value when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def objs(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of an array, skipping anything else."""
    return [item for item in arr(value) if isinstance(item, dict)]


def text(value: Any) -> str:
    """A trimmed string, or "" for anything that is not one."""
    return value.strip() if isinstance(value, str) else ""
