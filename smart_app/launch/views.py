"""Launch endpoints: /launch, the redirect URI, the public JWKS, the SMART style sheet and end-session.

The callback is mounted at the path of redirect_uris[0] (whatever the registration says), and
/launch is also served at launch_uri's path, so a registration is served as written.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit
from typing import cast

from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response as BaseResponse

from smart_app.audit import events as audit
from smart_app.config import callback_path
from smart_app.errors import LaunchError, LaunchErrorCode
from smart_app.launch.authorize import PENDING_TTL, PendingLimits, begin_authorization
from smart_app.launch.callback import complete_launch
from smart_app.launch.revoke import Revocation
from smart_app.launch.runtime import EXTENSION, runtime
from smart_app.launch.session import close_request_launches, current_launch, end_launch
from smart_app.launch.style import allowed_style_origins, style_sheet
from smart_app.ratelimit import RateLimiter
from smart_app.browser import (MAX_PRIOR_BROWSER_IDS, allow_form_action, allow_framing_by, browser_id, browser_ids,
                               rotate_browser_session)

bp = Blueprint("launch", __name__)

MAX_LAUNCH_PARAM = 2048
# Until a launch completes the browser has no session: a short-lived cookie ties /launch to /callback.
SIGNIN_COOKIE = "smart_previsit_signin"
SIGNIN_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")
LIMITER = "smart_launch_limiter"
# Every request's launches (and their FHIR connection pools) are closed when it ends, whichever blueprint served it.
bp.teardown_app_request(close_request_launches)


@bp.get("/launch")
def start() -> BaseResponse | str:
    """Start an EHR launch (`iss` + `launch`) or a standalone launch (`iss` only)."""
    rt = runtime()
    address = request.remote_addr or ""
    if not _limiter().allow(address):
        audit.event("launch.rejected", reason="rate_limited")
        raise LaunchError(LaunchErrorCode.TOO_MANY_LAUNCHES)
    iss = request.args.get("iss")
    launch = request.args.get("launch")
    # The allowlist check comes before any network I/O: an unknown iss never gets a request.
    server = rt.settings.server_for(iss)
    if server is None:
        audit.event("launch.rejected", reason="unknown_issuer" if iss else "missing_issuer", iss_len=len(iss or ""))
        raise LaunchError(LaunchErrorCode.UNKNOWN_ISSUER if iss else LaunchErrorCode.MISSING_ISSUER)
    allow_framing_by(server.frame_ancestors)  # the iss is on the allowlist: only its EHR may frame this
    if launch is not None and not 0 < len(launch) <= MAX_LAUNCH_PARAM:
        raise LaunchError(LaunchErrorCode.EHR_ERROR, "malformed launch parameter", iss=server.iss, mode="ehr")
    mode = "ehr" if launch is not None else "standalone"
    ids = {"iss": server.iss, "client_id": server.client_id, "mode": mode}
    bid = browser_id() or _signin_id()  # no session is created here: only a completed launch makes one
    g.signin_browser = bid
    # A template-matched iss is named in full in the trail, with the template it matched.
    audit.event("launch.received", **ids, **({"iss_template": server.iss_template} if server.iss_template else {}))
    limits = PendingLimits(per_browser=int(current_app.config["PENDING_PER_BROWSER"]),
                           per_address=int(current_app.config["PENDING_PER_ADDRESS"]))
    try:
        config = rt.discovery.get(server.iss, rt.http)
        if mode == "standalone" and config.capabilities and "launch-standalone" not in config.capabilities:
            raise LaunchError(LaunchErrorCode.STANDALONE_UNSUPPORTED, iss=server.iss)
        auth = begin_authorization(settings=rt.settings, server=server, config=config, keys=rt.keys,
                                   store=rt.store, browser_id=bid, launch=launch, address=address, limits=limits,
                                   extra_scopes=rt.extraction_scopes)
    except LaunchError as exc:
        exc.mode = exc.mode or mode
        audit.event("launch.failed", error_code=exc.code.value, reason=exc.detail, **ids)
        raise
    audit.event("authorize.redirect", method=auth.method, v2_scopes=config.uses_v2_scopes,
                endpoint_host=urlsplit(auth.endpoint).netloc, **ids)
    if auth.method == "POST":
        allow_form_action(auth.endpoint)
        response: BaseResponse = Response(render_template("launch/authorize_post.html", endpoint=auth.endpoint,
                                                          params=auth.params))
    else:
        response = redirect(auth.url, code=302)
    if browser_id() is None:
        response.set_cookie(SIGNIN_COOKIE, bid, max_age=PENDING_TTL, path="/", secure=True, httponly=True,
                            samesite="None", partitioned=bool(current_app.config.get("SESSION_COOKIE_PARTITIONED")))
    return response


def _limiter() -> RateLimiter:
    """This app's /launch budget per client address (LAUNCH_RATE_LIMIT per LAUNCH_RATE_WINDOW seconds)."""
    limiter = current_app.extensions.get(LIMITER)
    if limiter is None:
        limiter = current_app.extensions.setdefault(LIMITER, RateLimiter(
            int(current_app.config["LAUNCH_RATE_LIMIT"]), float(current_app.config["LAUNCH_RATE_WINDOW"])))
    return cast(RateLimiter, limiter)


def _signin_id() -> str:
    """This browser's unfinished-sign-in id: its cookie when it has a well-formed one, else a new one."""
    existing = request.cookies.get(SIGNIN_COOKIE, "")
    return existing if SIGNIN_ID.match(existing) else secrets.token_urlsafe(24)


@bp.record
def _mount_at_registered_paths(state: BlueprintSetupState) -> None:
    """Serve the callback at redirect_uris[0]'s path, and /launch also at launch_uri's path."""
    settings = state.app.extensions[EXTENSION].settings
    state.add_url_rule(callback_path(settings), "callback", callback, methods=["GET"])
    launch_path = urlsplit(settings.launch_uri).path if settings.launch_uri else ""
    if launch_path and launch_path != "/launch":
        state.add_url_rule(launch_path, "start_registered", start, methods=["GET"])


def callback() -> BaseResponse:
    """The redirect URI: validate state, exchange the code, then show the launch's home page."""
    rt = runtime()
    signin = None if browser_id() else request.cookies.get(SIGNIN_COOKIE)
    g.signin_browser = signin
    try:
        context = complete_launch(rt, request.args, browser_ids() + ((signin,) if signin else ()),
                                  rebind=lambda: _rotate_keeping(signin))
    except LaunchError as exc:
        if exc.code is LaunchErrorCode.COOKIES_BLOCKED and not _framed(exc.mode):
            # Top level, the cookie is not blocked but missing (another browser, or it expired): start again.
            exc = LaunchError(LaunchErrorCode.LAUNCH_EXPIRED, "no browser session cookie", iss=exc.iss, mode=exc.mode)
        audit.event("callback.failed", error_code=exc.code.value, reason=exc.detail, iss=exc.iss, mode=exc.mode)
        raise exc from None
    # A launch that names a form opens it (assignments.open_context); any other lands on its home page.
    landing = "assignments.open_context" if context.opens_a_form else "home.launch_home"
    response = redirect(url_for(landing, handle=context.handle), code=303)
    response.delete_cookie(SIGNIN_COOKIE, path="/", secure=True, httponly=True, samesite="None")
    return response


def _rotate_keeping(signin: str | None) -> tuple[str, str]:
    """New session and browser ids for a completed sign-in (no fixation); returns (browser id, anchor).

    The browser's unfinished sign-in id is kept among its earlier ids, so a sign-in begun in
    another tab before this one completed can still finish, from this browser only.
    """
    new, anchor = rotate_browser_session()
    if signin:
        session["prior_bids"] = [*(session.get("prior_bids") or []), signin][:MAX_PRIOR_BROWSER_IDS]
    return new, anchor


def _framed(mode: str | None) -> bool:
    """Whether this request was loaded inside a frame: the browser says so (Sec-Fetch-Dest), else an EHR launch is."""
    dest = request.headers.get("Sec-Fetch-Dest")
    if dest:
        return dest in ("iframe", "frame")
    return mode == "ehr"


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """Our public keys for private_key_jwt (never the private parts)."""
    response = jsonify(runtime().keys.public_jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/l/<handle>/style.css")
def smart_style(handle: str) -> Response:
    """The EHR's `smart_style_url` colours and fonts as CSS variables (validated, no inline styles)."""
    launch = current_launch(handle)
    rt = runtime()
    server = rt.settings.server_for(launch.context.iss)
    allowed = allowed_style_origins(launch.context.iss, server.frame_ancestors if server else ())
    css = style_sheet(launch.context.smart_style_url, rt.http, allowed)
    return Response(css, mimetype="text/css", headers={"Cache-Control": "private, max-age=300"})


@bp.post("/l/<handle>/end")
def end(handle: str) -> str:
    """End this launch: delete its tokens here and revoke them at the EHR."""
    launch = current_launch(handle)
    revocation = end_launch(runtime(), handle, reason="user")
    return render_template("launch/ended.html", iss=launch.context.iss,
                           ehr_may_stay_open=revocation is not Revocation.REVOKED)
