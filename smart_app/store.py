"""LaunchStore: encrypted server-side records in the database (pending authorizations, launches, drafts, locks).

Values are JSON dicts encrypted with Fernet/MultiFernet before they reach the database, so a
copied database file or dump reveals no tokens or answers. Keys are HMAC'd with a key from the
environment (SMART_APP_STORE_HMAC_KEY, else derived from the app secret), so the rows reveal
neither a state, a handle nor whose draft a row is. Rows expire by their own time only: nothing
is evicted because the store is full (the purge job removes expired rows and says what it removed).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from decimal import Decimal
from pathlib import Path
from datetime import timedelta
from typing import Any, Mapping, Sequence

from cachelib import BaseCache, RedisCache
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from smart_app.database import locks, records
from smart_app.instance_files import create_once


def upsert(engine: Engine, table: Any) -> Any:
    """The dialect's INSERT with ON CONFLICT support (SQLite and PostgreSQL share the syntax)."""
    return (pg_insert if engine.dialect.name == "postgresql" else sqlite_insert)(table)


class LaunchStore:
    """Namespaced, encrypted, expiring records and owner-checked locks in one database."""

    def __init__(self, engine: Engine, fernet: MultiFernet, hmac_key: bytes) -> None:
        """Bind to a migrated database; all values pass through `fernet`, all keys through `hmac_key`."""
        self.engine = engine
        self._fernet = fernet
        self._hmac_key = hmac_key
        self.leases = LeaseKeeper(self)
        # Built once: constructing an upsert costs more than running it (python -m bench.optimisations:
        # 0.17-0.19 ms CPU per put on SQLite, 0.37-0.48 ms when built on each call).
        put = upsert(engine, records)
        self._put = put.on_conflict_do_update(
            index_elements=[records.c.namespace, records.c.key],
            set_={"value": put.excluded.value, "expires_at": put.excluded.expires_at, "grp": put.excluded.grp,
                  "addr": put.excluded.addr})
        self._count_address = select(func.count()).select_from(records).where(
            records.c.namespace == bindparam("namespace"), records.c.addr == bindparam("addr"),
            records.c.expires_at > bindparam("now"))
        self._group_keys = select(records.c.key).where(
            records.c.namespace == bindparam("namespace"), records.c.grp == bindparam("grp")
        ).order_by(records.c.created_at.desc()).offset(bindparam("skip"))
        add = upsert(engine, records)
        self._add = add.on_conflict_do_update(
            index_elements=[records.c.namespace, records.c.key],
            set_={"value": add.excluded.value, "expires_at": add.excluded.expires_at,
                  "created_at": add.excluded.created_at},
            where=records.c.expires_at <= bindparam("now")).returning(records.c.key)

    # ---------------------------------------------------------------- keys and values

    def hashed(self, namespace: str, key: str) -> str:
        """HMAC-SHA256 of (namespace, key): stable row key that cannot be recomputed without the key."""
        return hmac.new(self._hmac_key, f"{namespace}\x00{key}".encode(), hashlib.sha256).hexdigest()

    def seal(self, value: Mapping[str, Any]) -> str:
        """Encrypt a JSON value."""
        return self._fernet.encrypt(_encode(value)).decode()

    def unseal(self, raw: str | bytes | None) -> dict[str, Any] | None:
        """Decrypt a sealed value; tampered or foreign-key values read as absent."""
        if not isinstance(raw, (str, bytes)):
            return None
        try:
            value = json.loads(self._fernet.decrypt(raw.encode() if isinstance(raw, str) else raw),
                               object_hook=_decode_decimal)
        except (InvalidToken, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def encrypted_size(self, value: Mapping[str, Any]) -> int:
        """Size in bytes that `value` takes once encrypted (to keep launch records small)."""
        return len(self._fernet.encrypt(_encode(value)))

    # ---------------------------------------------------------------- records

    def put(self, namespace: str, key: str, value: Mapping[str, Any], ttl: int, *,
            group: str | None = None, address: str | None = None) -> None:
        """Store `value` under (namespace, key) for `ttl` seconds; `group` (a browser) and `address` (a client
        address) tag it for the bounds put_bounded keeps."""
        now = time.time()
        row = {"namespace": namespace, "key": self.hashed(namespace, key), "value": self.seal(value),
               "expires_at": now + ttl, "grp": self.hashed("group", group) if group else None,
               "addr": self.hashed("address", address) if address else None, "created_at": now}
        with self.engine.begin() as conn:
            conn.execute(self._put, row)

    def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        """Return the stored value, or None when absent, expired or undecryptable."""
        with self.engine.connect() as conn:
            raw = conn.execute(select(records.c.value).where(
                records.c.namespace == namespace, records.c.key == self.hashed(namespace, key),
                records.c.expires_at > time.time())).scalar()
        return self.unseal(raw)

    def get_many(self, namespace: str, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        """Several records of one namespace in one query, in `keys` order (gaps are None)."""
        if not keys:
            return []
        hashed = [self.hashed(namespace, k) for k in keys]
        with self.engine.connect() as conn:
            rows = dict(conn.execute(select(records.c.key, records.c.value).where(
                records.c.namespace == namespace, records.c.key.in_(set(hashed)),
                records.c.expires_at > time.time())).all())
        return [self.unseal(rows.get(h)) for h in hashed]

    def delete(self, namespace: str, key: str) -> bool:
        """Remove a record; True when this call removed a live one."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(records).where(
                records.c.namespace == namespace, records.c.key == self.hashed(namespace, key),
                records.c.expires_at > time.time()))
        return result.rowcount > 0

    def take(self, namespace: str, key: str) -> dict[str, Any] | None:
        """Read and delete a record once: of two racing callers only one gets the value (DELETE ... RETURNING)."""
        with self.engine.begin() as conn:
            raw = conn.execute(delete(records).where(
                records.c.namespace == namespace, records.c.key == self.hashed(namespace, key),
                records.c.expires_at > time.time()).returning(records.c.value)).scalar()
        return self.unseal(raw)

    def add(self, namespace: str, key: str, value: Mapping[str, Any], ttl: int) -> bool:
        """Store only when absent or expired; True when this call stored it."""
        now = time.time()
        row = {"namespace": namespace, "key": self.hashed(namespace, key), "value": self.seal(value),
               "expires_at": now + ttl, "grp": None, "addr": None, "created_at": now, "now": now}
        with self.engine.begin() as conn:  # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT
            return conn.execute(self._add, row).first() is not None

    def put_bounded(self, namespace: str, key: str, value: Mapping[str, Any], ttl: int, *, group: str,
                    keep_per_group: int, address: str | None, max_per_address: int) -> bool:
        """`put`, within bounds, in one transaction: refused (False) when `address` already holds
        `max_per_address` live records of the namespace; else the group's oldest beyond
        `keep_per_group - 1` go, and the record is stored."""
        now = time.time()
        grp = self.hashed("group", group)
        addr = self.hashed("address", address) if address else None
        with self.engine.begin() as conn:
            if addr is not None and conn.execute(self._count_address, {
                    "namespace": namespace, "addr": addr, "now": now}).scalar_one() >= max_per_address:
                return False
            old = conn.execute(self._group_keys, {"namespace": namespace, "grp": grp,
                                                  "skip": max(0, keep_per_group - 1)}).scalars().all()
            if old:
                conn.execute(delete(records).where(records.c.namespace == namespace, records.c.key.in_(old)))
            conn.execute(self._put, {"namespace": namespace, "key": self.hashed(namespace, key),
                                     "value": self.seal(value), "expires_at": now + ttl, "grp": grp, "addr": addr,
                                     "created_at": now})
        return True

    def count_address(self, namespace: str, address: str) -> int:
        """How many live records of `namespace` carry this client `address`."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(records).where(
                records.c.namespace == namespace, records.c.addr == self.hashed("address", address),
                records.c.expires_at > time.time())).scalar() or 0)

    def expired(self, namespace: str, now: float, limit: int = 1000) -> list[tuple[str, dict[str, Any] | None]]:
        """Expired records of a namespace (row key, value) for the purge job to report."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(records.c.key, records.c.value).where(
                records.c.namespace == namespace, records.c.expires_at <= now).limit(limit)).all()
        return [(row.key, self.unseal(row.value)) for row in rows]

    def purge_expired(self, now: float) -> dict[str, int]:
        """Delete every expired record and lock; returns how many per namespace."""
        with self.engine.begin() as conn:
            counts = dict(conn.execute(select(records.c.namespace, func.count()).where(records.c.expires_at <= now)
                                       .group_by(records.c.namespace)).all())
            conn.execute(delete(records).where(records.c.expires_at <= now))
            gone = conn.execute(delete(locks).where(locks.c.expires_at <= now)).rowcount
        if gone:
            counts["locks"] = gone
        return {k: int(v) for k, v in counts.items()}

    # ---------------------------------------------------------------- locks

    def try_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        """Take an expiring exclusive lock shared by every instance on this database.

        Returns the owner's token for `unlock`/`renew`, or None when someone else holds it. The
        lock expires by itself after `ttl` seconds unless renewed, so a crashed holder cannot wedge it.
        """
        owner, now = secrets.token_hex(16), time.time()
        statement = upsert(self.engine, locks).values(name=self.hashed(namespace, key), owner=owner, expires_at=now + ttl)
        statement = statement.on_conflict_do_update(
            index_elements=[locks.c.name], set_={"owner": owner, "expires_at": now + ttl},
            where=locks.c.expires_at <= now).returning(locks.c.name)
        with self.engine.begin() as conn:
            return owner if conn.execute(statement).first() is not None else None

    def renew(self, namespace: str, key: str, owner: str, ttl: float) -> bool:
        """Extend a lock we still own; False when it was lost (expired and taken, or released)."""
        with self.engine.begin() as conn:
            return conn.execute(update(locks).where(
                locks.c.name == self.hashed(namespace, key), locks.c.owner == owner
            ).values(expires_at=time.time() + ttl)).rowcount > 0

    def unlock(self, namespace: str, key: str, owner: str) -> bool:
        """Release a lock only if we still own it (it may have expired and been taken by another)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(locks).where(
                locks.c.name == self.hashed(namespace, key), locks.c.owner == owner)).rowcount > 0

    def hold(self, namespace: str, key: str, ttl: float) -> "Held | None":
        """An owner-checked lock renewed in the background while held: `with store.hold(...) as held`."""
        owner = self.try_lock(namespace, key, ttl)
        if owner is None:
            return None
        return Held(self, namespace, key, owner, ttl)

    def ping(self) -> bool:
        """True when the database answers (readiness); never raises."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT 1")).scalar() == 1
        except Exception:  # any database failure means "not ready", never a crash
            return False


class Held:
    """A lock this process holds: renewed by the LeaseKeeper until released (owner-checked)."""

    def __init__(self, store: LaunchStore, namespace: str, key: str, owner: str, ttl: float) -> None:
        """Register the lock with the store's keeper."""
        self.store, self.namespace, self.key, self.owner, self.ttl = store, namespace, key, owner, ttl
        self.lost = False
        store.leases.add(self)

    def renew(self) -> bool:
        """Extend the lock; marks it lost when another owner has it."""
        if not self.store.renew(self.namespace, self.key, self.owner, self.ttl):
            self.lost = True
        return not self.lost

    def release(self) -> bool:
        """Stop renewing and release (only if still ours)."""
        self.store.leases.discard(self)
        return self.store.unlock(self.namespace, self.key, self.owner)

    def __enter__(self) -> "Held":
        """Use as a context manager."""
        return self

    def __exit__(self, *_exc: Any) -> None:
        """Release on the way out, whatever happened."""
        self.release()


class LeaseKeeper:
    """One daemon thread per store that renews every held lease at a third of its TTL.

    Locks and submission claims are only as long as their TTL; work that runs longer (a
    transaction retried after a 503) keeps its lease as long as its process lives.
    """

    def __init__(self, store: LaunchStore) -> None:
        """Nothing runs until the first lease is added."""
        self._store = store
        self._held: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._busy = threading.Lock()  # held while a round of renewals runs
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.renewals = 0  # for tests and support: how many renewals ran

    def add(self, lease: Any) -> None:
        """Start renewing `lease` (anything with .ttl and .renew())."""
        with self._lock:
            self._held[id(lease)] = lease
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self._thread.start()
        self._wake.set()

    def discard(self, lease: Any) -> None:
        """Stop renewing `lease`."""
        with self._lock:
            self._held.pop(id(lease), None)

    def _run(self) -> None:
        """Renew every lease each third of the shortest TTL; idle (no wake-ups) while nothing is held."""
        while True:
            with self._lock:
                held = list(self._held.values())
            if not held:
                self._wake.wait()
                self._wake.clear()
                continue
            self._wake.wait(min(lease.ttl for lease in held) / 3)
            self._wake.clear()
            with self._busy:
                with self._lock:
                    held = list(self._held.values())
                for lease in held:
                    try:
                        lease.renew()
                        self.renewals += 1
                    except Exception:  # a database hiccup: the next round tries again, well before expiry
                        continue

    def quiesce(self) -> None:
        """Wait for a round of renewals in progress to finish (before closing the database)."""
        with self._busy:
            pass


class SessionCache(BaseCache):
    """Flask-Session's cachelib client over the database (the embedded default): sessions are rows that
    expire by their own lifetime, never evicted because the store is full."""

    NAMESPACE = "browser-session"

    def __init__(self, store: LaunchStore, default_timeout: int = 31 * 24 * 3600) -> None:
        """Keep sessions in `store`."""
        super().__init__(default_timeout=default_timeout)
        self._store = store

    def get(self, key: str) -> Any:
        """The session dict, or None."""
        value = self._store.get(self.NAMESPACE, key)
        return value.get("s") if value else None

    def set(self, key: str, value: Any, timeout: int | timedelta | None = None) -> bool:
        """Store a session dict for its lifetime."""
        self._store.put(self.NAMESPACE, key, {"s": value}, int(self._normalize_timeout(timeout) or self.default_timeout))
        return True

    def add(self, key: str, value: Any, timeout: int | timedelta | None = None) -> bool:
        """Store only when absent."""
        return self._store.add(self.NAMESPACE, key, {"s": value}, int(self._normalize_timeout(timeout) or self.default_timeout))

    def delete(self, key: str) -> bool:
        """Remove a session."""
        return self._store.delete(self.NAMESPACE, key)

    def has(self, key: str) -> bool:
        """True when a live session exists."""
        return self.get(key) is not None


def fernet_from_keys(keys: str | None, secret_key: str | None, instance_path: str) -> MultiFernet:
    """Build the cipher from explicit keys, else derive from the app secret, else a dev key file.

    `keys` is a comma-separated list of Fernet keys (newest first) so keys can be rotated.
    """
    if keys:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
    if secret_key:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"smart-app launch store").derive(secret_key.encode())
        return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])
    return MultiFernet([Fernet(_dev_key(instance_path))])


def _dev_key(instance_path: str) -> bytes:
    """Generate a key once into the instance folder, readable only by this user."""
    return create_once(Path(instance_path) / "store.key", Fernet.generate_key).strip()


def hmac_key_from(explicit: str | None, secret_key: str) -> bytes:
    """The key row keys are HMAC'd with: SMART_APP_STORE_HMAC_KEY, else derived from the app secret."""
    if explicit:
        return explicit.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"smart-app row keys").derive(secret_key.encode())


def make_session_backend(redis_url: str | None, store: LaunchStore) -> BaseCache:
    """Where browser sessions live: Redis when a URL is configured, else rows in the database."""
    if redis_url:
        import redis

        # Short socket timeouts: a stuck Redis must fail a request, not hang a worker.
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
        return RedisCache(host=client, key_prefix="smart-app:")
    return SessionCache(store)


# FHIR decimals keep their digits (70.50 is not 70.5), so stored values may hold Decimal. They
# are written as {"$decimal": "70.50"}: no FHIR element name starts with "$", so this can't clash.
DECIMAL_TAG = "$decimal"


def _encode(value: Any) -> bytes:
    """Compact JSON of a stored value; Decimals tagged so they come back exact."""
    return json.dumps(value, separators=(",", ":"), default=_encode_decimal).encode()


def _encode_decimal(value: Any) -> Any:
    """json.dumps hook: a Decimal becomes a tagged string."""
    if isinstance(value, Decimal):
        return {DECIMAL_TAG: str(value)}
    raise TypeError(f"{type(value).__name__} cannot be stored")


def _decode_decimal(obj: dict[str, Any]) -> Any:
    """json.loads hook: a tagged string becomes a Decimal again."""
    if len(obj) == 1 and isinstance(obj.get(DECIMAL_TAG), str):
        return Decimal(obj[DECIMAL_TAG])
    return obj
