"""LaunchStore: encrypted, expiring, single-use take, key rotation."""
from __future__ import annotations

import time
from decimal import Decimal

from cachelib import SimpleCache
from cryptography.fernet import Fernet, MultiFernet

from smart_app.store import LaunchStore, fernet_from_keys, make_backend


def _store(tmp_path, keys=None) -> LaunchStore:
    """A file-backed store."""
    return LaunchStore(make_backend(None, str(tmp_path)), keys or MultiFernet([Fernet(Fernet.generate_key())]))


def test_put_get_delete_round_trip(tmp_path):
    store = _store(tmp_path)
    store.put("drafts", "k", {"a": 1}, 60)
    assert store.get("drafts", "k") == {"a": 1}
    assert store.get("other", "k") is None  # namespaces are separate
    assert store.delete("drafts", "k") is True
    assert store.get("drafts", "k") is None


def test_take_succeeds_once(tmp_path):
    store = _store(tmp_path)
    store.put("pending", "s", {"v": 1}, 60)
    assert store.take("pending", "s") == {"v": 1}
    assert store.take("pending", "s") is None


def test_values_expire(tmp_path, monkeypatch):
    store = _store(tmp_path)
    store.put("n", "k", {"v": 1}, 5)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 10)
    assert store.get("n", "k") is None


def test_values_are_encrypted_and_keys_hashed(tmp_path):
    store = _store(tmp_path)
    store.put("launch", "HANDLE123", {"access_token": "PLAINTEXT-TOKEN"}, 60)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"PLAINTEXT-TOKEN" not in data and b"HANDLE123" not in data and b"HANDLE123" not in path.name.encode()


def test_wrong_key_reads_as_absent_and_rotation_keeps_old_values(tmp_path):
    old, new = Fernet.generate_key(), Fernet.generate_key()
    backend = SimpleCache()
    LaunchStore(backend, MultiFernet([Fernet(old)])).put("n", "k", {"v": 1}, 60)
    assert LaunchStore(backend, MultiFernet([Fernet(new)])).get("n", "k") is None
    rotated = fernet_from_keys(f"{new.decode()},{old.decode()}", None, str(tmp_path))
    assert LaunchStore(backend, rotated).get("n", "k") == {"v": 1}


def test_dev_key_is_generated_once(tmp_path):
    first = fernet_from_keys(None, None, str(tmp_path))
    token = first.encrypt(b"x")
    assert fernet_from_keys(None, None, str(tmp_path)).decrypt(token) == b"x"
    assert oct((tmp_path / "store.key").stat().st_mode)[-3:] == "600"


def test_launch_record_stays_well_under_8kb(app, launcher, fake_ehr):
    from smart_app.launch.records import LAUNCH
    from smart_app.launch.runtime import EXTENSION

    handle, _ = launcher.ehr_launch("p1")
    rt = app.extensions[EXTENSION]
    record = rt.store.get(LAUNCH, handle)
    assert rt.store.encrypted_size(record) < 6000


def test_decimals_come_back_with_their_exact_digits(tmp_path):
    store = _store(tmp_path)
    store.put("outbox", "s1", {"value": Decimal("70.50"), "nested": [{"v": Decimal("1E+2")}], "n": 1.5}, 60)
    value = store.get("outbox", "s1")
    assert value["value"] == Decimal("70.50") and str(value["value"]) == "70.50"
    assert str(value["nested"][0]["v"]) == "1E+2"
    assert value["n"] == 1.5 and isinstance(value["n"], float)  # plain floats stay floats


def test_launch_handles_never_start_with_a_dash():
    from smart_app.launch.records import new_handle
    from smart_app.launch.session import HANDLE

    handles = [new_handle() for _ in range(2000)]
    assert all(HANDLE.match(h) and not h.startswith("-") for h in handles)
    assert len(set(handles)) == len(handles)
