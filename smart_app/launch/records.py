"""The stored launch record: context, tokens and owning browser, under a random handle."""
from __future__ import annotations

import logging
import secrets
import time
from typing import Any, Mapping

from smart_app.context import LaunchContext
from smart_app.errors import LaunchError, LaunchErrorCode
from smart_app.store import LaunchStore

LAUNCH = "launch"
# A launch record is read on every page. Tokens plus a normal context take a few KB; an EHR that
# hands over more than this is broken or hostile, and the launch is refused with a clear page.
# The context is never trimmed: a dropped fhirContext would silently lose the form the EHR asked for.
MAX_RECORD_BYTES = 64 * 1024
log = logging.getLogger(__name__)


def new_handle() -> str:
    """A fresh, unguessable launch handle (128 bits, URL-safe).

    Hex, so a handle never starts with "-": support staff paste it after `--launch` on the
    command line, where a leading dash reads as an option.
    """
    return secrets.token_hex(16)


def save_launch(store: LaunchStore, context: LaunchContext, *, browser: str, token: Mapping[str, Any], idle_ttl: int,
                anchor: str | None = None, patient_language: str | None = None) -> None:
    """Store a new launch; only the fields we need from the token response are kept, all of its context.

    `browser` binds the launch to the browser session; `anchor` is that browser's rotation-proof
    secret, keying the drafts of a person without a fhirUser. `patient_language` is the language a
    patient's own launch speaks (smart_app/i18n.py), from Patient.communication. Raises LaunchError(CONTEXT_TOO_LARGE)
    when the record would pass MAX_RECORD_BYTES.
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
        "patient_language": patient_language,
    }
    size = store.encrypted_size(record)
    if size > MAX_RECORD_BYTES:
        log.warning("launch refused: record of %d bytes (limit %d), fhirContext items=%d",
                    size, MAX_RECORD_BYTES, len(context.fhir_context))
        raise LaunchError(LaunchErrorCode.CONTEXT_TOO_LARGE, f"{len(context.fhir_context)} context items",
                          iss=context.iss)
    write_launch(store, context.handle, record, idle_ttl)


def write_launch(store: LaunchStore, handle: str, record: dict[str, Any], idle_ttl: int) -> None:
    """Write a launch record as it is (the size was checked when the launch began)."""
    store.put(LAUNCH, handle, record, idle_ttl)


def read_launch(store: LaunchStore, handle: str) -> dict[str, Any] | None:
    """The stored record for handle, or None."""
    return store.get(LAUNCH, handle)


def delete_launch(store: LaunchStore, handle: str) -> bool:
    """Remove the launch and its tokens from the server."""
    return store.delete(LAUNCH, handle)
