"""Contracts between the sandbox's authorization server and its FHIR API.

The authorization server mints tokens; the FHIR API only asks "what does this bearer
token grant?" and "is a fault planned for this request?". Keeping the two behind these
small types lets each side be built and tested alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol


@dataclass(frozen=True)
class AccessGrant:
    """What one access token allows, as the FHIR API needs to know it."""

    client_id: str
    scopes: frozenset[str]
    patient: str | None = None          # id of the Patient in context, if any
    encounter: str | None = None
    fhir_user: str | None = None        # e.g. "Practitioner/123" or "RelatedPerson/7"
    expires_at: float = 0.0             # epoch seconds
    launch_id: str | None = None        # the sandbox launch this token belongs to (faults are per launch)


# Resolves an Authorization header's bearer token to its grant; None when the token is
# missing, unknown, expired or revoked.
GrantResolver = Callable[[str | None], AccessGrant | None]


@dataclass
class PlannedFault:
    """One fault the FHIR API applies to the next matching request(s)."""

    kind: str                           # "status" | "latency" | "drop_after_commit" | "stale_update"
    status: int = 0                     # for kind == "status": 500, 503, 429
    retry_after: int | None = None      # seconds, for 503/429
    delay_ms: int = 0                   # for kind == "latency"
    remaining: int = 1                  # how many more requests it applies to
    writes_only: bool = True
    launch_id: str | None = None        # None: applies to every launch
    extra: dict = field(default_factory=dict)


class FaultPlan(Protocol):
    """Fault knobs the FHIR API consults before answering a request."""

    def take(self, *, is_write: bool, launch_id: str | None, interaction: str | None = None) -> PlannedFault | None:
        """Return (and consume one use of) the fault to apply to this request, if any.

        `interaction` ("read", "search", "create", "update", "transaction", ...) lets a fault
        wait for the request it is meant for, e.g. a stale-update fault for the next update.
        """
        ...
