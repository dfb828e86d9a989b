"""The browser a request comes from: its random id (and those it replaced), its anchor, and what this
response lets it do (be framed by an EHR, post a form to one). Below the web layer, so launch and
delivery can use it without importing the blueprints.
"""
from __future__ import annotations

import secrets
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from flask import current_app, g, session


@runtime_checkable
class _Regenerating(Protocol):
    """A server-side session interface: it can give the session a new id and drop the old record."""

    def regenerate(self, session: Any) -> None:
        """Rotate the session's id."""


MAX_PRIOR_BROWSER_IDS = 16


def browser_id() -> str | None:
    """This browser's random id; launches are bound to it. It is set when a launch completes
    (launch/views.py: /launch itself creates no session, only a short sign-in cookie)."""
    return session.get("bid")


def browser_ids() -> tuple[str, ...]:
    """The browser ids this session holds: the current one, then those it replaced at earlier sign-ins.

    Launches and sign-ins started before a rotation stay reachable from the same browser, and
    only from it: the earlier ids live in this server-side session alone.
    """
    bid = session.get("bid")
    prior = session.get("prior_bids") or []
    return tuple(b for b in (bid, *prior) if isinstance(b, str) and b)


def browser_anchor() -> str | None:
    """A per-browser secret that survives rotations: keys the drafts of a person without a fhirUser."""
    return session.get("anchor") or session.get("bid")


def rotate_browser_session() -> tuple[str, str]:
    """New session id and browser id after a sign-in (no session fixation); returns (browser id, anchor).

    The old session is deleted from the store, so a cookie planted before the sign-in opens
    nothing afterwards. Called only once every check of the sign-in has passed.
    """
    old = session.get("bid")
    anchor = browser_anchor() or secrets.token_urlsafe(24)
    interface = current_app.session_interface
    if not isinstance(interface, _Regenerating):
        raise RuntimeError("browser sessions are not server-side: the app's session interface cannot regenerate")
    interface.regenerate(session)
    new = secrets.token_urlsafe(24)
    prior = [b for b in (old, *(session.get("prior_bids") or [])) if b][:MAX_PRIOR_BROWSER_IDS]
    session.update(bid=new, prior_bids=prior, anchor=anchor)
    return new, anchor


def allow_form_action(url: str) -> None:
    """Let this response's forms post to one extra origin (the EHR's authorize endpoint)."""
    parts = urlsplit(url)
    g.form_action = f"{parts.scheme}://{parts.netloc}"


def allow_framing_by(origins: tuple[str, ...]) -> None:
    """Let only these origins (this request's EHR) frame the response, instead of every registered EHR."""
    g.frame_ancestors = tuple(origins)
