"""Step 4-5 of the launch: validate the redirect, exchange the code, verify identity, build the context.

Spec: app-launch.html#step-4-ehr-evaluates-authorization-request-asking-for-end-user-input
(state validation; RFC 9207 `iss`) and #step-5-access-token.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from smart_app.audit import events as audit
from smart_app.config import FhirServer
from smart_app.context import LaunchContext, parse_token_response
from smart_app.ehr.http import shared_session
from smart_app.errors import LaunchError, LaunchErrorCode
from smart_app.ehr.client import FhirClient, FhirError
from smart_app.i18n import patient_language
from smart_app.launch import id_token as id_tokens
from smart_app.launch import token as tokens
from smart_app.launch.authorize import PENDING
from smart_app.launch.pinning import check_url
from smart_app.launch.records import new_handle, save_launch
from smart_app.launch.revoke import revoke_tokens
from smart_app.launch.runtime import Runtime
from smart_app.launch.user import check_user_for_patient
from smart_app.browser import allow_framing_by

USED = "state-used"
USED_TTL = 3600


@dataclass(frozen=True)
class PendingLaunch:
    """What we remembered at authorize time, keyed by state."""

    state: str
    iss: str
    browser: str
    verifier: str
    nonce: str | None
    mode: str
    scope: str
    launch: str | None


def consume_state(rt: Runtime, state: str | None) -> PendingLaunch:
    """Take the pending authorization for this state exactly once, or fail before any token request."""
    if not state:
        raise LaunchError(LaunchErrorCode.INVALID_STATE, "missing state")
    pending = rt.store.take(PENDING, state)
    if pending is None:
        code = LaunchErrorCode.STATE_REUSED if rt.store.get(USED, state) else LaunchErrorCode.INVALID_STATE
        raise LaunchError(code)
    rt.store.put(USED, state, {"at": time.time()}, USED_TTL)
    return PendingLaunch(state=state, iss=pending["iss"], browser=pending["browser"], verifier=pending["verifier"],
                         nonce=pending.get("nonce"), mode=pending["mode"], scope=pending["scope"], launch=pending.get("launch"))


def complete_launch(rt: Runtime, args: Mapping[str, str], browser_ids: tuple[str, ...],
                    rebind: Callable[[], tuple[str, str]]) -> LaunchContext:
    """Validate the callback for this browser, exchange the code, and store the new launch.

    `browser_ids` are the ids this browser session holds; `rebind()` rotates the session once
    every check has passed and returns the new (browser id, anchor) the launch is bound to.
    """
    pending = consume_state(rt, args.get("state"))
    try:
        return _complete(rt, pending, args, browser_ids, rebind)
    except LaunchError as exc:
        exc.mode = exc.mode or pending.mode  # the error page offers only what can work for this kind of launch
        raise


def _complete(rt: Runtime, pending: PendingLaunch, args: Mapping[str, str], browser_ids: tuple[str, ...],
              rebind: Callable[[], tuple[str, str]]) -> LaunchContext:
    """complete_launch once the state is consumed."""
    server = rt.settings.server_for(pending.iss)
    if server is None:  # the registration changed under a pending launch
        raise LaunchError(LaunchErrorCode.UNKNOWN_ISSUER)
    allow_framing_by(server.frame_ancestors)  # the callback (and its error pages) belong to this EHR's frame
    if not browser_ids:
        raise LaunchError(LaunchErrorCode.COOKIES_BLOCKED, iss=server.iss)
    if pending.browser not in browser_ids:
        raise LaunchError(LaunchErrorCode.INVALID_STATE, "other browser", iss=server.iss)
    config = rt.discovery.get(server.iss, rt.http)
    # The registered issuer, never what the server's own discovery asserts (RFC 9700 §4.4.2).
    issuer = server.expected_issuer
    # RFC 9207 mix-up defence: a present `iss` must be the issuer, and a server that says it
    # always sends one must have sent it.
    if "iss" in args and args.get("iss") != issuer:
        raise LaunchError(LaunchErrorCode.ISS_MISMATCH, iss=server.iss)
    if "iss" not in args and config.authorization_response_iss_parameter_supported:
        raise LaunchError(LaunchErrorCode.ISS_MISMATCH, "iss missing", iss=server.iss)
    if args.get("error"):
        raise LaunchError(LaunchErrorCode.EHR_ERROR, _ehr_error(args), iss=server.iss)
    code = args.get("code")
    if not code:
        raise LaunchError(LaunchErrorCode.TOKEN_EXCHANGE_FAILED, "no code in the redirect", iss=server.iss)

    token = tokens.exchange_code(server, config, rt.keys, code=code, code_verifier=pending.verifier,
                                 redirect_uri=rt.settings.redirect_uri, jwks_uri=rt.settings.jwks_uri)
    handle = new_handle()
    try:
        fhir_user = _fhir_user(rt, token, config, server, pending)
        context = parse_token_response(token, handle=handle, iss=server.iss, client_id=server.client_id,
                                       launch_mode=pending.mode, requested_scope=pending.scope,
                                       fhir_user=fhir_user, now=time.time())
        context = _with_patient(context)
        check_user_for_patient(context, lambda type_, id_: _read_with(context.iss, token["access_token"], type_, id_))
        language = _patient_language(context, token["access_token"])
        browser, anchor = rebind()
        save_launch(rt.store, context, browser=browser, anchor=anchor, token=token, idle_ttl=rt.idle_timeout,
                    patient_language=language)
    except LaunchError:
        # A refused sign-in must not leave a live grant behind at the EHR (RFC 7009, best effort).
        revoke_tokens(server, config, rt.keys, token, redirect_uri=rt.settings.redirect_uri,
                      jwks_uri=rt.settings.jwks_uri, ids={"iss": server.iss, "client_id": server.client_id})
        raise
    audit.event("callback.ok", handle=handle, iss=server.iss, client_id=server.client_id, mode=pending.mode,
                patient_id=context.patient_id, fhir_user=context.fhir_user.relative if context.fhir_user else None,
                granted_scopes=len(context.granted_scopes),
                access_token_len=len(token["access_token"]), has_refresh_token="refresh_token" in token)
    return context


def _fhir_user(rt: Runtime, token: Mapping[str, Any], config: Any, server: FhirServer, pending: PendingLaunch) -> str | None:
    """The verified fhirUser claim, when an id_token came back (it must verify if present)."""
    raw = token.get("id_token")
    if raw is None:
        return None
    if not isinstance(raw, str) or not pending.nonce:
        raise LaunchError(LaunchErrorCode.ID_TOKEN_INVALID, "unexpected id_token", iss=pending.iss)
    with rt.http() as http:
        claims = id_tokens.verify_id_token(raw, config=config, client_id=server.client_id, nonce=pending.nonce,
                                           http=http, jwks_cache=rt.jwks,
                                           check_jwks_url=lambda url: check_url(server, "jwks_uri", url))
    user = claims.get("fhirUser") or claims.get("profile")  # `profile` is the SMART v1 claim
    return user if isinstance(user, str) else None


def _read_with(iss: str, access_token: str, resource_type: str, resource_id: str) -> dict[str, Any] | None:
    """One FHIR read with the new token (before the launch exists); None when the EHR refuses or fails."""
    client = FhirClient(iss, token=lambda: access_token, session=shared_session(), max_retries=0)
    try:
        return client.read(resource_type, resource_id)
    except FhirError:
        return None
    finally:
        client.close()


def _patient_language(context: LaunchContext, access_token: str) -> str | None:
    """A patient's own launch speaks their language: `Patient.communication` read once, at sign-in.

    Only for a patient signed in as themselves (a caregiver or clinician keeps their browser's
    language); None when the Patient cannot be read or prefers no language the app speaks.
    """
    if context.user_kind != "patient" or not context.patient_id or not context.permissions.can_read("Patient"):
        return None
    return patient_language(_read_with(context.iss, access_token, "Patient", context.patient_id))


def _with_patient(context: LaunchContext) -> LaunchContext:
    """Ensure a patient: standalone patient launches may carry it only as a Patient fhirUser."""
    if context.patient_id:
        return context
    if context.fhir_user and context.fhir_user.resource_type == "Patient":
        return replace(context, patient_id=context.fhir_user.id)
    raise LaunchError(LaunchErrorCode.NO_PATIENT_CONTEXT, iss=context.iss)


def _ehr_error(args: Mapping[str, str]) -> str:
    """The EHR's OAuth error code and description, shortened (shown escaped)."""
    error = (args.get("error") or "")[:64]
    description = (args.get("error_description") or "")[:300]
    return f"{error}: {description}" if description else error
