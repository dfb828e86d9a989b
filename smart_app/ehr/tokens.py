"""FHIR search token expressions (`param=system|value`), escaped for a query string. Pure: no I/O.

Used where a write names what must not exist yet: a transaction entry's `ifNoneExist` and a
create's `If-None-Exist` header (https://hl7.org/fhir/R4/http.html#ccreate).
"""
from __future__ import annotations

from urllib.parse import quote


def escape_token_part(text: str) -> str:
    """Escape FHIR search special characters, then percent-encode for a query string."""
    # https://hl7.org/fhir/R4/search.html#escaping: backslash-escape \ , $ | inside a token part.
    for ch in ("\\", ",", "$", "|"):
        text = text.replace(ch, "\\" + ch)
    return quote(text, safe=":/@")


def token_query(param: str, system: str, value: str) -> str:
    """A `param=system|value` search expression for ifNoneExist / If-None-Exist."""
    return f"{param}={escape_token_part(system)}|{escape_token_part(value)}"
