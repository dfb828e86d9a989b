"""The launch store on a real Redis (and its filesystem fallback): expiring owner-checked locks, encrypted values,
hashed keys, readiness ping."""
from __future__ import annotations

import time

import pytest

from smart_app.store import LaunchStore, fernet_from_keys, make_backend

pytestmark = pytest.mark.redis


@pytest.fixture
def store(redis_url, tmp_path) -> LaunchStore:
    """A LaunchStore on the test Redis."""
    return LaunchStore(make_backend(redis_url, str(tmp_path)), fernet_from_keys(None, "k", str(tmp_path)))


@pytest.fixture(params=["redis", "filesystem"])
def any_store(request, tmp_path) -> LaunchStore:
    """The store on either backend."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return LaunchStore(make_backend(url, str(tmp_path)), fernet_from_keys(None, "k", str(tmp_path)))


def test_a_lock_is_exclusive_until_released_by_its_owner(any_store):
    store = any_store
    owner = store.try_lock("lock", "h1", 10)
    assert owner is not None
    assert store.try_lock("lock", "h1", 10) is None
    assert store.unlock("lock", "h1", "someone-else") is False
    assert store.try_lock("lock", "h1", 10) is None
    assert store.unlock("lock", "h1", owner) is True
    assert store.try_lock("lock", "h1", 10) is not None


def test_a_lock_expires_by_itself_and_the_old_owner_cannot_release_the_new_one(store, redis_url):
    first = store.try_lock("lock", "h2", 1)
    [key] = [k for k in _client(redis_url).keys("*")]
    assert 0 < _client(redis_url).ttl(key) <= 1  # set with its expiry in one command
    time.sleep(1.2)
    second = store.try_lock("lock", "h2", 10)
    assert second is not None
    assert store.unlock("lock", "h2", first) is False
    assert store.try_lock("lock", "h2", 10) is None


def test_redis_holds_neither_the_raw_key_nor_the_token(store, redis_url):
    store.put("launch", "handle-abc", {"access_token": "at-SECRET-123"}, 60)
    client = _client(redis_url)
    keys = client.keys("*")
    assert len(keys) == 1 and b"handle-abc" not in keys[0] and keys[0].startswith(b"smart-app:sp:launch:")
    assert b"at-SECRET-123" not in client.get(keys[0])
    assert store.get("launch", "handle-abc") == {"access_token": "at-SECRET-123"}


def test_ping_reports_a_live_and_a_dead_redis(any_store, tmp_path):
    assert any_store.ping() is True
    dead = LaunchStore(make_backend("redis://127.0.0.1:1/0", str(tmp_path)), fernet_from_keys(None, "k", str(tmp_path)))
    assert dead.ping() is False


def _client(url: str):
    """A raw redis client."""
    import redis

    return redis.Redis.from_url(url)


def test_get_many_reads_several_records_in_order_with_gaps_as_none(any_store):
    store = any_store
    store.put("draft", "a", {"n": 1}, 60)
    store.put("draft", "c", {"n": 3}, 60)
    store.put("other", "b", {"n": 99}, 60)  # same key, other namespace: not a hit
    assert store.get_many("draft", ["a", "b", "c"]) == [{"n": 1}, None, {"n": 3}]
    assert store.get_many("draft", []) == []


def test_get_many_is_one_redis_round_trip(store, monkeypatch):
    for key in "abcde":
        store.put("draft", key, {"k": key}, 60)
    client = store._backend._read_client
    calls = []
    real = client.execute_command
    monkeypatch.setattr(client, "execute_command", lambda *a, **kw: calls.append(a[0]) or real(*a, **kw))
    assert [v["k"] for v in store.get_many("draft", list("abcde"))] == list("abcde")
    assert calls == ["MGET"]
