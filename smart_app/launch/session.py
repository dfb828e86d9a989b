"""Per-launch access for views: `current_launch(handle)` -> Launch (context + FHIR client).

A launch belongs to the browser that started it; its access token is refreshed before
expiry, one refresh at a time per launch (spec: app-launch.html#step-7-refresh-token-flow).
"""
from __future__ import annotations

import math
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from flask import g

from smart_app.audit import events as audit
from smart_app.context import LaunchContext
from smart_app.ehr.http import shared_session
from smart_app.errors import LaunchError, LaunchErrorCode
from smart_app.launch import token as tokens
from smart_app.launch.revoke import Revocation, revoke_tokens
from smart_app.launch.records import delete_launch, read_launch, write_launch
from smart_app.launch.runtime import Runtime, runtime
from smart_app.browser import allow_framing_by, browser_ids

if TYPE_CHECKING:
    from smart_app.ehr.reads import RequestReads
    from smart_app.ehr.client import FhirClient
    from smart_app.launch.discovery import SmartConfiguration

HANDLE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
REFRESH_SKEW = 60  # refresh this many seconds before the access token expires
TOUCH_EVERY = 60  # rewrite the record (sliding idle timeout) at most this often
REFRESH_LOCK = "refresh-lock"
# Only the token request runs under the lock (discovery is done before taking it), so the lock
# outlives that request's connect + read timeouts: a live holder keeps it to the end, and no
# second instance refreshes with the same (rotating) refresh token meanwhile.
REFRESH_LOCK_TTL = math.ceil(sum(tokens.TIMEOUT)) + 5
ENDED = "launch-ended"
REFRESH_WAIT = REFRESH_LOCK_TTL + 2.0  # outlast a crashed holder's lock, then take it over

# A fixed set of striped locks, so memory stays bounded however many launches a process sees;
# two launches sharing a stripe only wait for each other while one of them refreshes. Measured by
# python -m bench.optimisations (EHR at 150 ms): two launches refreshing at once, slowest 392 ms
# striped against 737 ms with one lock; four requests of one launch, 520 ms against 564 ms with
# the store's lock alone (its waiters poll every 0.1 s). Medians of 6 at load average 22-29.
_LOCK_STRIPES = 256
_locks = tuple(threading.Lock() for _ in range(_LOCK_STRIPES))


def _lock_for(rt: Runtime, handle: str) -> threading.Lock:
    """The in-process lock serialising refreshes of one launch within one app (the store lock spans apps)."""
    return _locks[hash((id(rt), handle)) % _LOCK_STRIPES]


class Launch:
    """One launch as a view sees it: its typed context, and a FHIR client bound to its token."""

    def __init__(self, rt: Runtime, handle: str, context: LaunchContext, correlation_id: str | None,
                 record: dict[str, Any] | None = None) -> None:
        """Wrap a loaded launch record; the token is kept only for this object's life (one request)."""
        self._rt = rt
        self.handle = handle
        self.context = context
        self._correlation_id = correlation_id
        self._fhir: FhirClient | None = None
        self._reads: RequestReads | None = None
        self._last_token: str | None = None
        # (access token, expires_at) from the record this request already read: a page's FHIR
        # calls reuse it instead of reading and decrypting the record once per call (python -m
        # bench.optimisations: 2 database reads and 2 decrypts fewer per page).
        self._token: tuple[str, float] | None = None
        # A token this object just got from a refresh: used until it expires even when its
        # lifetime is shorter than REFRESH_SKEW, so a page's parallel reads refresh once, not once each.
        self._refreshed: str | None = None
        # The owning browser's rotation-proof anchor: keys a person without a fhirUser, in requests and in the courier.
        self.browser: str | None = (record.get("anchor") or record.get("browser")) if record is not None else None
        # The language a patient's own launch speaks (Patient.communication at sign-in; smart_app/i18n.py).
        self.patient_language: str | None = record.get("patient_language") if record is not None else None
        if record is not None:
            self._remember(record)

    @property
    def fhir(self) -> "FhirClient":
        """A FhirClient for this launch's server, token and refresh."""
        if self._fhir is None:
            from smart_app.ehr.client import FhirClient

            self._fhir = FhirClient(self.context.iss, token=self.access_token, on_unauthorized=self.refresh_after_401,
                                    correlation_id=self._correlation_id, session=shared_session(),
                                    budget=self._rt.fhir_budget)
        return self._fhir

    @property
    def reads(self) -> "RequestReads":
        """This request's reads from the launch's server (each at most once, one wave per plan) and what was built from them."""
        if self._reads is None:
            from smart_app.ehr.reads import RequestReads

            self._reads = RequestReads(lambda: self.fhir)
        return self._reads

    def close(self) -> None:
        """Drop this request's FHIR client (called when the request ends; the shared connections stay open)."""
        if self._fhir is not None:
            self._fhir.close()
            self._fhir = None

    def _remember(self, record: dict[str, Any], *, refreshed: bool = False) -> str:
        """Keep the record's token and expiry for the rest of this request; return the token."""
        self._token = (record["access_token"], float(record["expires_at"]))
        self._last_token = record["access_token"]
        if refreshed:
            self._refreshed = record["access_token"]
        return str(record["access_token"])

    def access_token(self) -> str:
        """A currently valid access token, refreshed first when it is about to expire."""
        cached, now = self._token, time.time()
        if cached is not None and (cached[1] - now > REFRESH_SKEW or (cached[0] == self._refreshed and cached[1] > now)):
            return cached[0]
        record = self._record()
        if record["expires_at"] - time.time() > REFRESH_SKEW:
            return self._remember(record)
        if cached is not None and record["access_token"] != cached[0] and record["expires_at"] > time.time():
            # Another of this page's reads refreshed between our look at the cache and the read: use its token.
            return self._remember(record, refreshed=True)
        return self._refresh(stale=record["access_token"])

    def refresh_after_401(self) -> str:
        """The server rejected our token: refresh once (unless another request already did)."""
        stale = self._last_token or self._record()["access_token"]
        self._token = None
        return self._refresh(stale=stale)

    def _record(self) -> dict[str, Any]:
        """The stored record, or end with why it is gone (a concurrent request may have ended it)."""
        record = read_launch(self._rt.store, self.handle)
        if record is None:
            ended = self._rt.store.get(ENDED, self.handle) or {}
            code = LaunchErrorCode.REFRESH_FAILED if ended.get("reason") == "refresh_failed" else LaunchErrorCode.LAUNCH_EXPIRED
            raise LaunchError(code, str(ended.get("detail") or ""), iss=self.context.iss, mode=self.context.launch_mode)
        return record

    def _refresh(self, stale: str) -> str:
        """Refresh single-flight: an in-process lock, then the store's expiring lock shared by all instances.

        Whoever holds the store lock re-reads the record before calling the token endpoint, so
        an instance that was waiting sees the new token instead of refreshing a second time.
        """
        config = self._discover()  # outside the lock: its TTL then only has to cover the token request
        with _lock_for(self._rt, self.handle):
            deadline = time.monotonic() + REFRESH_WAIT
            while True:
                record = self._record()
                if record["access_token"] != stale:  # another request or instance refreshed already
                    return self._remember(record, refreshed=True)
                if record["access_token"] == self._refreshed:
                    # This launch obtained that token a moment ago, in another of its threads: it is
                    # used to its expiry like any token we refreshed, never refreshed a second time.
                    return self._remember(record, refreshed=True)
                held = self._rt.store.hold(REFRESH_LOCK, self.handle, REFRESH_LOCK_TTL)  # renewed while held
                if held is not None:
                    with held:  # released on the way out, only if still ours
                        record = self._record()  # the previous holder may have finished just before we locked
                        if record["access_token"] != stale:
                            return self._remember(record, refreshed=True)
                        return self._do_refresh(record, config)
                if time.monotonic() > deadline:
                    raise LaunchError(LaunchErrorCode.REFRESH_FAILED, "timed out waiting for refresh", iss=self.context.iss,
                                      mode=self.context.launch_mode)
                time.sleep(0.1)

    def audit_ids(self) -> dict[str, Any]:
        """Audit identity of this launch, passed into every event about it (audit looks nothing up); taken
        from this object, not the request context (the courier refreshes outside any request)."""
        ctx = self.context
        return {"handle": self.handle, "iss": ctx.iss, "client_id": ctx.client_id, "correlation_id": self._correlation_id,
                "fhir_user": ctx.fhir_user.relative if ctx.fhir_user else None, "patient_id": ctx.patient_id}

    def _refresh_failed(self, exc: LaunchError) -> LaunchError:
        """Log why a refresh failed and end the launch; return the error for the caller to raise."""
        audit.event("refresh.failed", reason=exc.detail or exc.code.value, **self.audit_ids())
        end_launch(self._rt, self.handle, reason="refresh_failed", correlation_id=self._correlation_id, detail=exc.detail)
        # The server's reason stays on the page (escaped, length-limited); the launch itself is over.
        return LaunchError(LaunchErrorCode.REFRESH_FAILED, exc.detail, iss=self.context.iss, mode=self.context.launch_mode)

    def _discover(self) -> "SmartConfiguration":
        """The server's SMART configuration (usually cached); a failure ends the launch like a failed refresh."""
        try:
            return self._rt.discovery.get(self.context.iss, self._rt.http)
        except LaunchError as exc:
            raise self._refresh_failed(exc) from None

    def _do_refresh(self, record: dict[str, Any], config: "SmartConfiguration") -> str:
        """Call the token endpoint and store the new tokens; a failure ends the launch."""
        rt, ctx = self._rt, self.context
        ids = self.audit_ids()
        refresh_token = record.get("refresh_token")
        server = rt.settings.server_for(ctx.iss)
        if not refresh_token or server is None:
            end_launch(rt, self.handle, reason="expired", correlation_id=self._correlation_id)
            raise LaunchError(LaunchErrorCode.LAUNCH_EXPIRED, iss=ctx.iss, mode=ctx.launch_mode)
        try:
            token = tokens.refresh(server, config, rt.keys, refresh_token=refresh_token,
                                   redirect_uri=rt.settings.redirect_uri, jwks_uri=rt.settings.jwks_uri)
        except LaunchError as exc:
            raise self._refresh_failed(exc) from None
        expires_in = token.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else 3600.0
        record.update(access_token=token["access_token"], expires_at=time.time() + lifetime, touched=time.time())
        if token.get("refresh_token"):
            record["refresh_token"] = token["refresh_token"]  # rotate; otherwise keep the old one
        write_launch(rt.store, self.handle, record, rt.idle_timeout)
        audit.event("refresh.ok", access_token_len=len(token["access_token"]),
                    new_refresh_token="refresh_token" in token, **ids)
        return self._remember(record, refreshed=True)


def current_launch(handle: str) -> Launch:
    """The launch addressed by handle, if it exists, is live, and belongs to this browser; else abort."""
    cache: dict[str, Launch] = g.setdefault("_launches", {})
    if handle in cache:
        return cache[handle]
    rt = runtime()
    if not HANDLE.match(handle or ""):
        raise LaunchError(LaunchErrorCode.LAUNCH_EXPIRED)
    record = read_launch(rt.store, handle)
    if record is None or record.get("browser") not in browser_ids():
        # Same page whether it never existed or belongs to another browser: no oracle.
        raise LaunchError(LaunchErrorCode.LAUNCH_EXPIRED)
    context = LaunchContext.from_record(record["context"])
    server = rt.settings.server_for(context.iss)
    allow_framing_by(server.frame_ancestors if server else ())  # only this launch's EHR may frame its pages
    now = time.time()
    if now - record.get("created", now) > rt.max_age:
        end_launch(rt, handle, reason="max_age")
        raise LaunchError(LaunchErrorCode.LAUNCH_EXPIRED, iss=context.iss, mode=context.launch_mode)
    if now - record.get("touched", 0) > TOUCH_EVERY:
        record["touched"] = now
        write_launch(rt.store, handle, record, rt.idle_timeout)
    launch = Launch(rt, handle, context, g.get("correlation_id"), record=record)
    audit.bind_identity(launch.audit_ids())  # this request's events about the launch carry who and where
    cache[handle] = launch
    return launch


def close_request_launches(_exc: BaseException | None = None) -> None:
    """Close the FHIR clients of the launches this request used, so no connection outlives it."""
    for launch in g.pop("_launches", {}).values():
        launch.close()


def end_launch(rt: Runtime, handle: str, *, reason: str, correlation_id: str | None = None, detail: str = "") -> Revocation:
    """Delete the launch's server-side tokens, revoke them at the EHR (best effort), and log the end;
    `detail` is the server's reason, if it gave one."""
    record = read_launch(rt.store, handle)
    delete_launch(rt.store, handle)
    # Requests of this launch still in flight learn why it ended (see Launch._record).
    rt.store.put(ENDED, handle, {"reason": reason, "detail": detail}, 600)
    ctx = record.get("context", {}) if record else {}
    ids = {"handle": handle, **audit.identity_of(ctx), "correlation_id": correlation_id}
    audit.event("launch.end", reason=reason, **ids)
    return _revoke(rt, record, ids) if record else Revocation.NOTHING


def revoke_expired_launch(rt: Runtime, record: dict[str, Any]) -> Revocation:
    """Revoke the tokens of a launch whose record the retention job is about to purge (idle past its
    time, so no request will end it); the end is logged like any other, ids only."""
    ctx = record.get("context", {})
    ids = {"handle": ctx.get("handle"), **audit.identity_of(ctx)}
    audit.event("launch.end", reason="expired", **ids)
    return _revoke(rt, record, ids)


def _revoke(rt: Runtime, record: dict[str, Any], ids: dict[str, Any]) -> Revocation:
    """Revoke an ended launch's tokens at its EHR (RFC 7009), whatever made it end."""
    server = rt.settings.server_for(record.get("context", {}).get("iss"))
    if server is None:
        return Revocation.FAILED
    try:
        config = rt.discovery.get(server.iss, rt.http)
    except LaunchError as exc:
        audit.event("token.revoke_failed", reason=exc.code.value, **ids)
        return Revocation.FAILED
    return revoke_tokens(server, config, rt.keys, record, redirect_uri=rt.settings.redirect_uri,
                         jwks_uri=rt.settings.jwks_uri, ids=ids)
