"""Remembered approvals: a user who approved a client's request once is not asked again for the same scope set.

Keyed by (user, client, the exact set of requested scopes): asking for anything different
asks again. Revocable per entry (the developer page lists them). In memory, like the rest of
the sandbox's authorization state.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class RememberedConsent:
    """What one user approved for one client, for one requested scope set."""

    user: str
    client_id: str
    requested: frozenset[str]
    approved: tuple[str, ...]

    @property
    def key(self) -> str:
        """A stable id for the developer page's revoke button."""
        return f"{self.user} {self.client_id} {' '.join(sorted(self.requested))}"


class ConsentMemory:
    """The approvals users asked the sandbox to remember."""

    def __init__(self) -> None:
        """Nothing remembered yet."""
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, frozenset[str]], RememberedConsent] = {}

    def remember(self, user: str, client_id: str, requested: list[str], approved: list[str]) -> RememberedConsent:
        """Keep this approval for the next identical request."""
        entry = RememberedConsent(user, client_id, frozenset(requested), tuple(approved))
        with self._lock:
            self._entries[(user, client_id, entry.requested)] = entry
        return entry

    def recall(self, user: str | None, client_id: str | None, requested: list[str]) -> list[str] | None:
        """The scopes approved before for exactly this request, or None (ask)."""
        if not user or not client_id:
            return None
        with self._lock:
            entry = self._entries.get((user, client_id, frozenset(requested)))
        return list(entry.approved) if entry else None

    def all(self) -> list[RememberedConsent]:
        """Every remembered approval, for the developer page."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.key)

    def revoke(self, key: str) -> bool:
        """Forget one approval (by its key); True when there was one."""
        with self._lock:
            for index, entry in list(self._entries.items()):
                if entry.key == key:
                    del self._entries[index]
                    return True
        return False
