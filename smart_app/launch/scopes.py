"""Scope strings: the request we send, given the kind of launch and the server's scope syntax.

Spec: scopes-and-launch-context.html (v2 `.cruds` syntax, v1 `.read/.write` syntax,
`launch`, `launch/patient`, `openid fhirUser`).
"""
from __future__ import annotations

import re

_V2 = re.compile(r"^(patient|user|system)/(\*|[A-Za-z]+)\.([cruds]+)(\?.*)?$")


def requested_scope(base_scope: str, *, ehr_launch: bool, v2: bool) -> str:
    """The scope for the authorize request: `launch` for EHR launch, `launch/patient` standalone.

    `user/` scopes are the clinician's (asking a patient to fill a form, `user/Task.c`): only an
    EHR launch, opened from the chart, asks for them; a standalone launch is the patient's portal.
    """
    scopes = [s for s in base_scope.split() if s not in ("launch", "launch/patient")
              and (ehr_launch or not s.startswith("user/"))]
    if not v2:
        scopes = to_v1(scopes)
    scopes.append("launch" if ehr_launch else "launch/patient")
    return " ".join(dict.fromkeys(scopes))


def to_v1(scopes: list[str]) -> list[str]:
    """Rewrite v2 resource scopes to v1 (`.rs` -> `.read`, `.cu` -> `.write`).

    v1 cannot express a query filter, so `?category=` restrictions are dropped; the
    server may then grant more than asked, never less than the app needs.
    """
    out: list[str] = []
    for scope in scopes:
        m = _V2.match(scope)
        if not m:
            out.append(scope)
            continue
        prefix = f"{m.group(1)}/{m.group(2)}"
        perms = m.group(3)
        if set(perms) & set("rs"):
            out.append(f"{prefix}.read")
        if set(perms) & set("cud"):
            out.append(f"{prefix}.write")
    return list(dict.fromkeys(out))
