"""The stored launch record: context, tokens and owning browser, under a random handle."""
from __future__ import annotations

import secrets
import time
from typing import Any, Mapping

from smart_app.context import LaunchContext
from smart_app.store import LaunchStore

LAUNCH = "launch"
MAX_RECORD_BYTES = 6000  # well under the 8 KB budget, leaving room for longer tokens


def new_handle() -> str:
    """A fresh, unguessable launch handle (128 bits, URL-safe).

    Hex, so a handle never starts with "-": support staff paste it after `--launch` on the
    command line, where a leading dash reads as an option.
    """
    return secrets.token_hex(16)


def save_launch(store: LaunchStore, context: LaunchContext, *, browser: str, token: Mapping[str, Any], idle_ttl: int,
                anchor: str | None = None) -> None:
    """Store a new launch; only the fields we need from the token response are kept.

    `browser` binds the launch to the browser session; `anchor` is that browser's rotation-proof
    secret, keying the drafts of a person without a fhirUser.
    """
    record = {
        "browser": browser,
        "anchor": anchor or browser,
        "context": context.to_record(),
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token"),
        "expires_at": context.expires_at,
        "created": time.time(),
        "touched": time.time(),
    }
    write_launch(store, context.handle, record, idle_ttl)


def write_launch(store: LaunchStore, handle: str, record: dict[str, Any], idle_ttl: int) -> None:
    """Write a launch record, dropping optional context that would push it past the size budget."""
    if store.encrypted_size(record) > MAX_RECORD_BYTES:
        record["context"]["fhir_context"] = []
    store.put(LAUNCH, handle, record, idle_ttl)


def read_launch(store: LaunchStore, handle: str) -> dict[str, Any] | None:
    """The stored record for handle, or None."""
    return store.get(LAUNCH, handle)


def delete_launch(store: LaunchStore, handle: str) -> bool:
    """Remove the launch and its tokens from the server."""
    return store.delete(LAUNCH, handle)
