"""LaunchStore: encrypted server-side records (pending authorizations, launches, drafts, outbox).

Values are JSON dicts encrypted with Fernet/MultiFernet before they reach the cachelib
backend, so a copied cache directory or Redis dump reveals no tokens. Keys are hashed so
that neither the backend's file names nor Redis keys expose a state or handle.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import struct
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping, Sequence

from cachelib import BaseCache, FileSystemCache, RedisCache
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class LaunchStore:
    """Namespaced, encrypted, expiring key-value records over a cachelib backend."""

    def __init__(self, backend: BaseCache, fernet: MultiFernet) -> None:
        """Wrap a cachelib backend; all values pass through `fernet`."""
        self._backend = backend
        self._fernet = fernet

    def put(self, namespace: str, key: str, value: Mapping[str, Any], ttl: int) -> None:
        """Store `value` (JSON-serialisable) under (namespace, key) for `ttl` seconds."""
        self._backend.set(self._key(namespace, key), self._seal(value, ttl), timeout=ttl)

    def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        """Return the stored value, or None when absent, expired or undecryptable."""
        raw = self._backend.get(self._key(namespace, key))
        return self._open(raw)

    def get_many(self, namespace: str, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        """Several records of one namespace in one backend round trip (Redis MGET), in `keys` order."""
        if not keys:
            return []
        return [self._open(raw) for raw in self._backend.get_many(*(self._key(namespace, k) for k in keys))]

    def delete(self, namespace: str, key: str) -> bool:
        """Remove a record; True when this call removed it."""
        return bool(self._backend.delete(self._key(namespace, key)))

    def take(self, namespace: str, key: str) -> dict[str, Any] | None:
        """Read and delete a record once: of two racing callers only one gets the value."""
        value = self.get(namespace, key)
        if value is None:
            return None
        # delete() is atomic on both backends (unlink / DEL), so it decides the winner.
        return value if self.delete(namespace, key) else None

    def add(self, namespace: str, key: str, value: Mapping[str, Any], ttl: int) -> bool:
        """Store only when absent (used as a short lock); True when this call stored it."""
        return bool(self._backend.add(self._key(namespace, key), self._seal(value, ttl), timeout=ttl))

    def try_lock(self, namespace: str, key: str, ttl: int) -> str | None:
        """Take an expiring exclusive lock shared by every instance on this backend.

        Returns the owner's token for `unlock`, or None when someone else holds it. The
        lock expires by itself after `ttl` seconds, so a crashed holder cannot wedge it.
        """
        sealed = self._seal({"owner": secrets.token_hex(16)}, ttl)
        return sealed if self._backend.add(self._key(namespace, key), sealed, timeout=ttl) else None

    def unlock(self, namespace: str, key: str, owner: str) -> bool:
        """Release a lock only if we still own it (it may have expired and been taken by another)."""
        backend_key = self._key(namespace, key)
        if isinstance(self._backend, _RedisStore):
            return self._backend.delete_if_equal(backend_key, owner)
        # Filesystem: one host only; the compare-then-delete window is a few microseconds.
        return self._backend.get(backend_key) == owner and bool(self._backend.delete(backend_key))

    def ping(self) -> bool:
        """True when the backend answers (readiness); never raises."""
        try:
            if isinstance(self._backend, _RedisStore):
                return bool(self._backend.ping())
            probe = self._key("ping", secrets.token_hex(8))
            ok = bool(self._backend.set(probe, "1", timeout=5))
            self._backend.delete(probe)
            return ok
        except Exception:  # any backend failure means "not ready", never a crash
            return False

    def _seal(self, value: Mapping[str, Any], ttl: int) -> str:
        """Encrypt a value with its expiry time."""
        payload = _encode({"exp": time.time() + ttl, "v": value})
        return self._fernet.encrypt(payload).decode()

    def encrypted_size(self, value: Mapping[str, Any]) -> int:
        """Size in bytes that `value` takes once encrypted (to keep launch records small)."""
        return len(self._fernet.encrypt(_encode({"exp": 0, "v": value})))

    def _open(self, raw: Any) -> dict[str, Any] | None:
        """Decrypt and unwrap a stored value; expired or tampered values read as absent."""
        if not isinstance(raw, (str, bytes)):
            return None
        try:
            data = json.loads(self._fernet.decrypt(raw.encode() if isinstance(raw, str) else raw),
                              object_hook=_decode_decimal)
        except (InvalidToken, ValueError):
            return None
        if not isinstance(data, dict) or data.get("exp", 0) < time.time():
            return None
        value = data.get("v")
        return value if isinstance(value, dict) else None

    @staticmethod
    def _key(namespace: str, key: str) -> str:
        """A backend key that reveals neither the namespace's records nor the raw key."""
        return f"sp:{namespace}:{hashlib.sha256(key.encode()).hexdigest()}"


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
    path = Path(instance_path) / "store.key"
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def make_backend(redis_url: str | None, instance_path: str) -> BaseCache:
    """RedisCache when a URL is configured, else a FileSystemCache in the instance folder."""
    if redis_url:
        import redis

        # Short socket timeouts: a stuck Redis must fail a request, not hang a worker.
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
        return _RedisStore(host=client, key_prefix="smart-app:")
    return _FileStore(str(Path(instance_path) / "launch-store"), threshold=5000, mode=0o600)


class _RedisStore(RedisCache):
    """RedisCache with an atomic add (SET NX EX) and an owner-checked delete, for cross-instance locks.

    The stock add() is SETNX then EXPIRE: a crash between the two leaves a lock that never expires.
    """

    _DELETE_IF_EQUAL = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        """Set only when absent, with its expiry, in one command."""
        ttl = self._normalize_timeout(timeout)
        return bool(self._write_client.set(name=self._get_prefix() + key, value=self.serializer.dumps(value),
                                           ex=ttl if ttl > 0 else None, nx=True))

    def delete_if_equal(self, key: str, value: Any) -> bool:
        """Delete the key only while it still holds `value` (atomic on the server)."""
        dumped = self.serializer.dumps(value)
        return bool(self._write_client.eval(self._DELETE_IF_EQUAL, 1, self._get_prefix() + key, dumped))

    def ping(self) -> bool:
        """PING the server."""
        return bool(self._write_client.ping())


class _FileStore(FileSystemCache):
    """FileSystemCache whose delete() reports whether *this* call removed the file.

    The stock one returns True for a missing file, which would let two racing callbacks
    both believe they consumed the same state.
    """

    def add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        """Store only when absent, atomically: the entry is hard-linked into place, which fails if it exists.

        The stock add() checks, then writes (two threads both win the lock of one submission), and it
        treats an expired entry as present (a crashed holder's lock would outlive its TTL).
        """
        filename = self._get_filename(key)
        if os.path.exists(filename):
            if self.get(key) is not None:
                return False
            self.delete(key)  # expired
        self._prune()
        fd, tmp = tempfile.mkstemp(suffix=self._fs_transaction_suffix, dir=self._path)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(struct.pack("I", self._normalize_timeout(timeout)))
                self.serializer.dump(value, fh)
            os.chmod(tmp, self._mode)
            try:
                os.link(tmp, filename)
            except FileExistsError:
                return False
        finally:
            os.unlink(tmp)
        self._update_count(delta=1)
        return True

    def delete(self, key: str, mgmt_element: bool = False) -> bool:
        """Unlink the entry; False when it was already gone."""
        try:
            os.remove(self._get_filename(key))
        except OSError:
            return False
        if not mgmt_element:
            self._update_count(delta=-1)
        return True


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
