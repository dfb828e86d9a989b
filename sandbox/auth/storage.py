"""Thread-safe in-memory storage for clients, launches, pending authorizations, codes and tokens."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from .models import AuthorizationCode, Client, Launch, Token

PENDING_LIFETIME = 600      # seconds a half-finished login/approval stays usable
LAUNCH_LIFETIME = 3600      # seconds an EHR launch id can be used to authorize
JTI_LIFETIME = 600          # seconds a client assertion's jti is remembered
SPENT_CODE_MEMORY = 600     # seconds a used code is kept to detect replays


@dataclass
class PendingAuthorization:
    """An authorization request waiting for login, patient choice and approval."""

    txn: str
    params: dict[str, str]
    user_ref: str | None = None
    patient: str | None = None
    created_at: float = field(default_factory=time.time)


class AuthStore:
    """All authorization-server state behind one lock; records expire lazily."""

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.RLock()
        self._clients: dict[str, Client] = {}
        self._launches: dict[str, Launch] = {}
        self._pending: dict[str, PendingAuthorization] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._access: dict[str, Token] = {}
        self._refresh: dict[str, Token] = {}
        self._jtis: dict[str, float] = {}

    # clients
    def add_client(self, client: Client) -> None:
        """Register (or replace) a client."""
        with self._lock:
            self._clients[client.client_id] = client

    def get_client(self, client_id: str | None) -> Client | None:
        """The client with this id, if registered."""
        with self._lock:
            return self._clients.get(client_id or "")

    def clients(self) -> list[Client]:
        """Every registered client."""
        with self._lock:
            return list(self._clients.values())

    # launches
    def add_launch(self, launch: Launch) -> Launch:
        """Remember a launch so its id can be used at the authorize endpoint (and forget stale records)."""
        with self._lock:
            self._purge_locked()
            self._launches[launch.launch_id] = launch
        return launch

    def _purge_locked(self) -> None:
        """Drop records nobody can use any more (the chart creates a launch per page view)."""
        now = time.time()
        self._launches = {k: v for k, v in self._launches.items() if now - v.created_at <= LAUNCH_LIFETIME}
        self._pending = {k: v for k, v in self._pending.items() if now - v.created_at <= PENDING_LIFETIME}
        self._codes = {k: v for k, v in self._codes.items() if now - v.issued_at <= SPENT_CODE_MEMORY}
        dead = [t for t in self._access.values()
                if t.is_expired() and (t.refresh_token is None or t.refresh_revoked)]
        for token in dead:
            self._access.pop(token.access_token, None)
            if token.refresh_token:
                self._refresh.pop(token.refresh_token, None)

    def get_launch(self, launch_id: str | None) -> Launch | None:
        """A launch that has not outlived LAUNCH_LIFETIME."""
        with self._lock:
            launch = self._launches.get(launch_id or "")
        if launch and time.time() - launch.created_at <= LAUNCH_LIFETIME:
            return launch
        return None

    # pending authorizations (between the authorize request and the code)
    def begin_pending(self, params: dict[str, str]) -> PendingAuthorization:
        """Park a validated authorization request under a fresh transaction id."""
        pending = PendingAuthorization(txn=secrets.token_urlsafe(18), params=dict(params))
        with self._lock:
            self._pending[pending.txn] = pending
        return pending

    def get_pending(self, txn: str | None) -> PendingAuthorization | None:
        """A pending authorization that has not expired."""
        with self._lock:
            pending = self._pending.get(txn or "")
        if pending and time.time() - pending.created_at <= PENDING_LIFETIME:
            return pending
        return None

    def finish_pending(self, txn: str) -> None:
        """Forget a pending authorization once it produced a response."""
        with self._lock:
            self._pending.pop(txn, None)

    # codes
    def add_code(self, code: AuthorizationCode) -> None:
        """Store an issued authorization code."""
        with self._lock:
            self._codes[code.code] = code

    def redeem_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The unused, unexpired code for this client; a replayed code revokes its tokens."""
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.client_id != client_id:
                return None
            if record.used:
                # RFC 6749 4.1.2: a reused code SHOULD revoke the tokens issued from it.
                for access_token in record.token_ids:
                    self._revoke_locked(self._access.get(access_token))
                return None
            if record.is_expired():
                return None
            # Spent at once, under the lock, so two concurrent exchanges cannot both succeed.
            record.used = True
            return record

    def mark_code_used(self, record: AuthorizationCode, token: Token | None) -> None:
        """Remember the token a spent code produced, so a replay can revoke it."""
        with self._lock:
            record.used = True
            if token is not None:
                record.token_ids.append(token.access_token)

    # tokens
    def add_token(self, token: Token) -> None:
        """Store an issued token pair."""
        with self._lock:
            self._access[token.access_token] = token
            if token.refresh_token:
                self._refresh[token.refresh_token] = token

    def by_access_token(self, value: str | None) -> Token | None:
        """The token record for an access token string, active or not."""
        with self._lock:
            return self._access.get(value or "")

    def by_refresh_token(self, value: str | None) -> Token | None:
        """The token record for a refresh token string, active or not."""
        with self._lock:
            return self._refresh.get(value or "")

    def revoke(self, token: Token, *, refresh_only: bool = False) -> None:
        """Revoke a refresh token, and unless refresh_only, its access token too."""
        with self._lock:
            token.refresh_revoked = True
            if not refresh_only:
                token.access_revoked = True

    def _revoke_locked(self, token: Token | None) -> None:
        """Revoke both halves of a token pair; caller holds the lock."""
        if token is not None:
            token.access_revoked = True
            token.refresh_revoked = True

    def tokens_for_launch(self, launch_id: str | None) -> list[Token]:
        """Every token of one launch, or of every launch when launch_id is None."""
        with self._lock:
            return [t for t in self._access.values() if launch_id is None or t.launch.launch_id == launch_id]

    def expire_access_tokens(self, launch_id: str | None) -> int:
        """Make the access tokens of a launch (or all) expire now; returns how many."""
        with self._lock:
            tokens = [t for t in self.tokens_for_launch(launch_id) if not t.is_expired()]
            for token in tokens:
                token.expired_by_fault = True
            return len(tokens)

    def revoke_refresh_tokens(self, launch_id: str | None) -> int:
        """Revoke the refresh tokens of a launch (or all); returns how many."""
        with self._lock:
            tokens = [t for t in self.tokens_for_launch(launch_id) if t.refresh_token and not t.refresh_revoked]
            for token in tokens:
                token.refresh_revoked = True
            return len(tokens)

    # client assertion replay protection
    def use_jti(self, client_id: str, jti: str) -> bool:
        """Record a client assertion's jti; False when it was already used."""
        now = time.time()
        key = f"{client_id}:{jti}"
        with self._lock:
            for old in [k for k, seen in self._jtis.items() if now - seen > JTI_LIFETIME]:
                del self._jtis[old]
            if key in self._jtis:
                return False
            self._jtis[key] = now
            return True
