"""Fault injection: what the FHIR API and the token store should do wrong next, per launch or globally.

The FHIR API consults `FaultBoard.take` (the `FaultPlan` contract in sandbox.contracts) before
answering; token faults act on the authorization server's tokens through `TokenKnobs`.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, replace
from typing import Protocol

from .contracts import PlannedFault

# Faults a launch can be started with (developer-page launch URLs), by name.
TOKEN_FAULTS = ("expire_token", "revoke_refresh")
REQUEST_FAULTS: dict[str, PlannedFault] = {
    "fail_write_500": PlannedFault(kind="status", status=500),
    "fail_write_503": PlannedFault(kind="status", status=503, retry_after=2),
    "fail_write_429": PlannedFault(kind="status", status=429, retry_after=2),
    "latency": PlannedFault(kind="latency", delay_ms=1500, remaining=5, writes_only=False),
    "drop_after_commit": PlannedFault(kind="drop_after_commit"),
    "stale_update": PlannedFault(kind="stale_update"),
}
FAULT_DESCRIPTIONS = {
    "expire_token": "The first access token of the launch is treated as expired (FHIR answers 401).",
    "revoke_refresh": "The launch's refresh token is revoked (refreshing fails with invalid_grant).",
    "fail_write_500": "The next write fails with 500.",
    "fail_write_503": "The next write fails with 503 and Retry-After: 2.",
    "fail_write_429": "The next write fails with 429 and Retry-After: 2.",
    "latency": "The next 5 requests are delayed by 1.5 s.",
    "drop_after_commit": "The next write is committed, then the connection is dropped without a response.",
    "stale_update": "The next update fails with 412 Precondition Failed.",
}
PRESETS = TOKEN_FAULTS + tuple(REQUEST_FAULTS)


class TokenKnobs(Protocol):
    """What the authorization server's token store lets the fault board do."""

    def expire_access_tokens(self, launch_id: str | None) -> int:
        """Expire access tokens of a launch (or all) now."""
        ...

    def revoke_refresh_tokens(self, launch_id: str | None) -> int:
        """Revoke refresh tokens of a launch (or all) now."""
        ...


class UnknownFault(ValueError):
    """A fault name or parameter the sandbox does not know."""


class FaultBoard:
    """Planned faults behind one lock; each is used up after `remaining` matching requests."""

    def __init__(self, tokens: TokenKnobs | None = None) -> None:
        """Start with nothing planned; `tokens` is bound by the app factory."""
        self._lock = threading.Lock()
        self._planned: list[PlannedFault] = []
        self._token_presets: dict[str, set[str]] = {}
        self.tokens = tokens

    # FaultPlan contract
    def take(self, *, is_write: bool, launch_id: str | None, interaction: str | None = None) -> PlannedFault | None:
        """Return (and use up once) the first fault matching this request, if any.

        `interaction` ("read", "search", "create", "update", ...) is optional; when given, a
        stale_update fault is kept for an update rather than spent on another write.
        """
        with self._lock:
            for fault in self._planned:
                if fault.writes_only and not is_write:
                    continue
                if fault.launch_id is not None and fault.launch_id != launch_id:
                    continue
                if fault.kind == "stale_update" and interaction not in (None, "update"):
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._planned.remove(fault)
                return replace(fault)
        return None

    def plan(self, fault: PlannedFault) -> PlannedFault:
        """Add a fault to the plan."""
        if fault.remaining < 1:
            raise UnknownFault("a fault must apply to at least one request")
        with self._lock:
            self._planned.append(fault)
        return fault

    def fail_writes(self, count: int = 1, *, status: int = 500, retry_after: int | None = None,
                    launch_id: str | None = None) -> PlannedFault:
        """Fail the next `count` writes with 500, or 503/429 (+ Retry-After)."""
        if status not in (500, 503, 429):
            raise UnknownFault("status must be 500, 503 or 429")
        if status in (503, 429) and retry_after is None:
            retry_after = 2
        return self.plan(PlannedFault(kind="status", status=status, retry_after=retry_after,
                                      remaining=count, launch_id=launch_id))

    def add_latency(self, delay_ms: int, count: int = 1, *, writes_only: bool = False,
                    launch_id: str | None = None) -> PlannedFault:
        """Delay the next `count` requests by `delay_ms`."""
        if delay_ms < 0:
            raise UnknownFault("delay_ms must be >= 0")
        return self.plan(PlannedFault(kind="latency", delay_ms=delay_ms, remaining=count,
                                      writes_only=writes_only, launch_id=launch_id))

    def drop_after_commit(self, count: int = 1, *, launch_id: str | None = None) -> PlannedFault:
        """Commit the next write(s), then drop the connection without a response."""
        return self.plan(PlannedFault(kind="drop_after_commit", remaining=count, launch_id=launch_id))

    def stale_next_update(self, *, launch_id: str | None = None) -> PlannedFault:
        """Answer the next update with 412, as if its If-Match were stale."""
        return self.plan(PlannedFault(kind="stale_update", launch_id=launch_id))

    # token faults
    def expire_access_now(self, launch_id: str | None = None) -> int:
        """Expire the access tokens of a launch (or all) now; returns how many."""
        return self._knobs().expire_access_tokens(launch_id)

    def revoke_refresh(self, launch_id: str | None = None) -> int:
        """Revoke the refresh tokens of a launch (or all) now; returns how many."""
        return self._knobs().revoke_refresh_tokens(launch_id)

    def _knobs(self) -> TokenKnobs:
        """The bound token store."""
        if self.tokens is None:
            raise RuntimeError("FaultBoard has no token store bound")
        return self.tokens

    # launch presets
    def preset_for_launch(self, launch_id: str, names: list[str] | tuple[str, ...]) -> None:
        """Plan named faults for one launch (from developer-page launch URLs)."""
        unknown = [n for n in names if n not in PRESETS]
        if unknown:
            raise UnknownFault(f"unknown fault: {', '.join(unknown)}")
        for name in names:
            if name in TOKEN_FAULTS:
                with self._lock:
                    self._token_presets.setdefault(launch_id, set()).add(name)
            else:
                self.plan(replace(REQUEST_FAULTS[name], launch_id=launch_id))

    def take_token_presets(self, launch_id: str | None) -> set[str]:
        """Token faults planned for a launch, used up by the first token issued to it."""
        with self._lock:
            return self._token_presets.pop(launch_id or "", set())

    # inspection
    def pending(self) -> list[dict]:
        """The planned request faults, for the admin endpoint and tests."""
        with self._lock:
            planned = [asdict(f) for f in self._planned]
            presets = [{"kind": k, "launch_id": launch, "remaining": 1}
                       for launch, kinds in self._token_presets.items() for k in sorted(kinds)]
        return planned + presets

    def clear(self) -> None:
        """Forget every planned fault."""
        with self._lock:
            self._planned.clear()
            self._token_presets.clear()
