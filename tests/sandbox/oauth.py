"""A deliberately configurable SMART client for driving the sandbox, well or badly, over HTTP."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

LAUNCH_JSON = json.loads((Path(__file__).resolve().parents[2] / "launch.json").read_text())
CLIENT_ID = "smart-previsit"
REDIRECT_URI = LAUNCH_JSON["redirect_uris"][0]
APP_SCOPE = LAUNCH_JSON["scope"]
TIMEOUT = 10


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    """Single-valued query parameters of a URL."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Attempt:
    """One authorization request and everything needed to finish it."""

    params: dict[str, Any]
    verifier: str
    response: requests.Response | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def location(self) -> str:
        """The redirect target of the last response."""
        assert self.response is not None
        return self.response.headers.get("Location", "")

    @property
    def callback(self) -> dict[str, str]:
        """Query parameters the client's redirect_uri received."""
        assert self.location.startswith(self.params.get("redirect_uri") or REDIRECT_URI), self.location
        return query_of(self.location)


class SmartClient:
    """Builds authorize requests (with overridable parameters) and calls the token endpoint."""

    def __init__(self, sandbox: Any, client_id: str = CLIENT_ID, redirect_uri: str = REDIRECT_URI) -> None:
        """Bind to a running sandbox."""
        self.sandbox = sandbox
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.http = requests.Session()

    def url(self, name: str) -> str:
        """An auth endpoint URL."""
        return f"{self.sandbox.base_url}/auth/{name}"

    def params(self, **overrides: Any) -> tuple[dict[str, Any], str]:
        """Good authorize parameters (PKCE S256, state, aud, nonce); None in overrides drops a key."""
        verifier, challenge = pkce_pair()
        params: dict[str, Any] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "launch/patient " + APP_SCOPE,
            "state": secrets.token_urlsafe(16),
            "aud": self.sandbox.fhir_base,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "nonce": secrets.token_urlsafe(12),
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}, verifier

    def authorize(self, method: str = "GET", **overrides: Any) -> Attempt:
        """Send an authorize request without following redirects."""
        params, verifier = self.params(**overrides)
        if method == "POST":
            response = self.http.post(self.url("authorize"), data=params, allow_redirects=False, timeout=TIMEOUT)
        else:
            response = self.http.get(self.url("authorize"), params=params, allow_redirects=False, timeout=TIMEOUT)
        return Attempt(params=params, verifier=verifier, response=response)

    def follow(self, attempt: Attempt) -> requests.Response:
        """GET the sandbox page the last response redirected to."""
        response = self.http.get(self.sandbox.base_url + attempt.location if attempt.location.startswith("/")
                                 else attempt.location, allow_redirects=False, timeout=TIMEOUT)
        return response

    def submit(self, attempt: Attempt, path: str, data: dict[str, Any]) -> Attempt:
        """POST a sandbox form (login, pick, approve) and record the response on the attempt."""
        attempt.response = self.http.post(self.sandbox.base_url + path, data=data, allow_redirects=False,
                                          timeout=TIMEOUT)
        return attempt

    def code(self, **overrides: Any) -> Attempt:
        """A successful authorization (auto-approved via sandbox_approve=all) with its code."""
        overrides.setdefault("sandbox_approve", "all")
        attempt = self.authorize(**overrides)
        assert attempt.response.status_code == 302, attempt.response.text
        assert "code" in attempt.callback, attempt.location
        return attempt

    def token(self, attempt: Attempt | None = None, *, auth: Any = None, **form: Any) -> requests.Response:
        """POST to the token endpoint; with an attempt, a good code exchange unless overridden."""
        data: dict[str, Any] = {}
        if attempt is not None:
            data = {
                "grant_type": "authorization_code",
                "code": attempt.callback["code"],
                "redirect_uri": attempt.params["redirect_uri"],
                "code_verifier": attempt.verifier,
                "client_id": self.client_id,
            }
        data.update(form)
        data = {k: v for k, v in data.items() if v is not None}
        return self.http.post(self.url("token"), data=data, auth=auth, timeout=TIMEOUT)

    def refresh(self, refresh_token: str, **form: Any) -> requests.Response:
        """A refresh_token grant."""
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id, **form}
        return self.http.post(self.url("token"), data=data, timeout=TIMEOUT)

    def fhir(self, access_token: str, path: str, method: str = "GET", **kwargs: Any) -> requests.Response:
        """A FHIR request with a bearer token."""
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/fhir+json"}
        headers.update(kwargs.pop("headers", {}))
        return self.http.request(method, f"{self.sandbox.fhir_base}/{path}", headers=headers, timeout=TIMEOUT,
                                 **kwargs)
