"""LaunchStore on SQLite and PostgreSQL: encrypted, expiring, single-use take, owner-checked locks, key rotation."""
from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import select

from smart_app.database import locks, records
from smart_app.store import fernet_from_keys
from tests.fixtures.leases import manual_clock, outlive_ttl
from tests.fixtures.store import open_store, sqlite_url

CONTENDERS = 12


def test_put_get_delete_round_trip(durable_store):
    store = durable_store
    store.put("drafts", "k", {"a": 1}, 60)
    assert store.get("drafts", "k") == {"a": 1}
    assert store.get("other", "k") is None  # namespaces are separate
    assert store.delete("drafts", "k") is True
    assert store.get("drafts", "k") is None
    assert store.delete("drafts", "k") is False


def test_take_succeeds_once(durable_store):
    durable_store.put("pending", "s", {"v": 1}, 60)
    assert durable_store.take("pending", "s") == {"v": 1}
    assert durable_store.take("pending", "s") is None


def test_of_many_threads_taking_the_same_record_exactly_one_gets_it(durable_store):
    for round_ in range(5):
        durable_store.put("pending", f"s{round_}", {"v": round_}, 60)
        barrier = threading.Barrier(CONTENDERS)
        got: list = []

        def contend(barrier: threading.Barrier = barrier, got: list = got, round_: int = round_) -> None:
            """Wait for every contender, then take."""
            barrier.wait()
            got.append(durable_store.take("pending", f"s{round_}"))

        threads = [threading.Thread(target=contend) for _ in range(CONTENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert [g for g in got if g is not None] == [{"v": round_}]


def test_values_expire(durable_store, monkeypatch):
    durable_store.put("n", "k", {"v": 1}, 5)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 10)
    assert durable_store.get("n", "k") is None


def test_values_are_encrypted_and_keys_hmacd(durable_store):
    durable_store.put("launch", "HANDLE123", {"access_token": "PLAINTEXT-TOKEN"}, 60)
    with durable_store.engine.connect() as conn:
        [row] = conn.execute(select(records)).all()
    assert "PLAINTEXT-TOKEN" not in row.value and "HANDLE123" not in row.key


def test_row_keys_depend_on_the_environment_key(tmp_path):
    first = open_store(sqlite_url(tmp_path), secret="one")
    second = open_store(f"sqlite:///{tmp_path / 'other.db'}", secret="two")
    assert first.hashed("launch", "h") != second.hashed("launch", "h")
    assert first.hashed("launch", "h") == open_store(f"sqlite:///{tmp_path / 'third.db'}", secret="one").hashed("launch", "h")


def test_wrong_key_reads_as_absent_and_rotation_keeps_old_values(tmp_path):
    old, new = Fernet.generate_key(), Fernet.generate_key()
    url = sqlite_url(tmp_path)
    open_store(url, MultiFernet([Fernet(old)])).put("n", "k", {"v": 1}, 60)
    assert open_store(url, MultiFernet([Fernet(new)])).get("n", "k") is None
    rotated = fernet_from_keys(f"{new.decode()},{old.decode()}", None, str(tmp_path))
    assert open_store(url, rotated).get("n", "k") == {"v": 1}


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


def test_decimals_come_back_with_their_exact_digits(durable_store):
    durable_store.put("outbox", "s1", {"value": Decimal("70.50"), "nested": [{"v": Decimal("1E+2")}], "n": 1.5}, 60)
    value = durable_store.get("outbox", "s1")
    assert value["value"] == Decimal("70.50") and str(value["value"]) == "70.50"
    assert str(value["nested"][0]["v"]) == "1E+2"
    assert value["n"] == 1.5 and isinstance(value["n"], float)  # plain floats stay floats


def test_launch_handles_never_start_with_a_dash():
    from smart_app.launch.records import new_handle
    from smart_app.launch.session import HANDLE

    handles = [new_handle() for _ in range(2000)]
    assert all(HANDLE.match(h) and not h.startswith("-") for h in handles)
    assert len(set(handles)) == len(handles)


def test_get_many_reads_several_records_in_order_with_gaps_as_none(durable_store):
    durable_store.put("draft", "a", {"n": 1}, 60)
    durable_store.put("draft", "c", {"n": 3}, 60)
    durable_store.put("other", "b", {"n": 99}, 60)  # same key, other namespace: not a hit
    assert durable_store.get_many("draft", ["a", "b", "c"]) == [{"n": 1}, None, {"n": 3}]
    assert durable_store.get_many("draft", []) == []


def test_of_many_threads_adding_the_same_key_at_once_exactly_one_wins(durable_store):
    for round_ in range(5):
        barrier = threading.Barrier(CONTENDERS)
        wins: list[bool] = []

        def contend(barrier: threading.Barrier = barrier, wins: list = wins, round_: int = round_) -> None:
            """Wait for every contender, then try to add."""
            barrier.wait()
            wins.append(durable_store.add("once", f"key-{round_}", {"at": 1}, 60))

        threads = [threading.Thread(target=contend) for _ in range(CONTENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert wins.count(True) == 1, round_


def test_an_expired_entry_does_not_block_a_new_add(durable_store, monkeypatch):
    assert durable_store.add("once", "k", {"n": 1}, 5)
    assert not durable_store.add("once", "k", {"n": 2}, 5)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 60)  # the holder crashed a minute ago
    assert durable_store.add("once", "k", {"n": 3}, 5)
    assert durable_store.get("once", "k") == {"n": 3}


def test_a_lock_is_exclusive_until_released_by_its_owner(durable_store):
    owner = durable_store.try_lock("lock", "h1", 10)
    assert owner is not None
    assert durable_store.try_lock("lock", "h1", 10) is None
    assert durable_store.unlock("lock", "h1", "someone-else") is False
    assert durable_store.try_lock("lock", "h1", 10) is None
    assert durable_store.unlock("lock", "h1", owner) is True
    assert durable_store.try_lock("lock", "h1", 10) is not None


def test_an_expired_lock_goes_to_the_next_owner_and_the_old_owner_can_neither_renew_nor_release_it(
        durable_store, monkeypatch):
    first = durable_store.try_lock("lock", "h2", 5)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 10)
    second = durable_store.try_lock("lock", "h2", 5)
    assert second is not None and second != first
    assert durable_store.renew("lock", "h2", first, 5) is False
    assert durable_store.unlock("lock", "h2", first) is False
    assert durable_store.try_lock("lock", "h2", 5) is None


def test_a_held_lock_is_renewed_while_its_work_runs(durable_store, monkeypatch):
    """The keeper renews at a third of the TTL: the lock outlives its TTL while held, then is released."""
    clock = manual_clock(monkeypatch)  # expiry time moves only when the test says: a late keeper cannot fail it
    held = durable_store.hold("lock", "slow", 0.3)
    assert held is not None
    with durable_store.engine.connect() as conn:
        first = conn.execute(select(locks.c.expires_at)).scalar()
    outlive_ttl(durable_store.leases, clock, 0.3, 3)
    assert time.time() > first  # the first expiry has passed
    assert durable_store.try_lock("lock", "slow", 0.3) is None  # still held, well past its first expiry
    with durable_store.engine.connect() as conn:
        assert conn.execute(select(locks.c.expires_at)).scalar() > first
    held.release()
    assert durable_store.try_lock("lock", "slow", 0.3) is not None


def test_ping_reports_a_live_and_a_dead_database(durable_store, tmp_path):
    assert durable_store.ping() is True
    dead = open_store(sqlite_url(tmp_path))
    dead.engine.dispose()
    from sqlalchemy import create_engine

    dead.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    assert dead.ping() is False


def test_migrations_run_once_and_record_their_version(tmp_path):
    from smart_app.database import make_engine, migrate, schema_version

    engine = make_engine(sqlite_url(tmp_path))
    assert migrate(engine) == migrate(engine) == 1
    with engine.connect() as conn:
        assert conn.execute(select(schema_version.c.version)).scalars().all() == [1]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


@pytest.mark.parametrize("hours", [1])
def test_purge_removes_only_expired_records_and_says_how_many(durable_store, hours):
    durable_store.put("launch", "old", {"v": 1}, 60)
    durable_store.put("launch", "live", {"v": 2}, 3 * 3600)
    assert durable_store.purge_expired(time.time() + hours * 3600) == {"launch": 1}
    assert durable_store.get("launch", "live") == {"v": 2}
