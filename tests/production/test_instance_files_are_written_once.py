"""Workers starting together on a fresh instance folder share one dev secret, store key and client key each.

Before, each file was checked for, then created exclusively and written: a second worker could find it
missing and crash on the exclusive create, or find it created but still empty and run with an empty
secret. The race is staged here, not hoped for: the other worker's file appears exactly between our
check and our write.
"""
from __future__ import annotations

import stat
from pathlib import Path

from cryptography.fernet import Fernet

from smart_app import _dev_secret
from smart_app.instance_files import create_once
from smart_app.launch.keys import load_client_keys
from smart_app.store import _dev_key


def test_a_file_is_made_once_and_read_back_by_every_later_start(tmp_path: Path) -> None:
    made: list[bytes] = []

    def make() -> bytes:
        made.append(b"first")
        return b"first"

    path = tmp_path / "instance" / "secret.key"
    assert create_once(path, make) == b"first"
    assert create_once(path, make) == b"first"
    assert made == [b"first"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret.key"]  # no temporary file left behind


def test_a_worker_that_loses_the_race_uses_the_winners_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "store.key"

    def make_while_another_worker_wins() -> bytes:
        """Another worker writes its whole file after our check found none, before ours is in place."""
        path.write_bytes(b"the other worker's key")
        return b"our key"

    assert create_once(path, make_while_another_worker_wins) == b"the other worker's key"
    assert path.read_bytes() == b"the other worker's key"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.key"]


def test_the_dev_secret_store_key_and_client_keys_are_created_once_per_instance_folder(tmp_path: Path) -> None:
    secret = _dev_secret(str(tmp_path))
    assert len(secret) > 40 and _dev_secret(str(tmp_path)) == secret
    key = _dev_key(str(tmp_path))
    Fernet(key)  # a usable key, the same on the next start
    assert _dev_key(str(tmp_path)) == key
    keys = load_client_keys(str(tmp_path / "keys"))
    again = load_client_keys(str(tmp_path / "keys"))
    assert (keys.rsa.kid, keys.ec.kid) == (again.rsa.kid, again.ec.kid)
