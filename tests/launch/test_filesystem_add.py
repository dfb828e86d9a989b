"""The filesystem store's add() is the single-sender and refresh lock on one host: exactly one caller may win."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from smart_app.store import LaunchStore, fernet_from_keys, make_backend

CONTENDERS = 12


def _store(tmp_path: Path) -> LaunchStore:
    """A LaunchStore over the filesystem backend the app uses without Redis."""
    return LaunchStore(make_backend(None, str(tmp_path)), fernet_from_keys(None, "test-secret", str(tmp_path)))


def test_of_many_threads_adding_the_same_key_at_once_exactly_one_wins(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for round_ in range(20):
        barrier = threading.Barrier(CONTENDERS)
        wins: list[bool] = []

        def contend(barrier: threading.Barrier = barrier, wins: list[bool] = wins, round_: int = round_) -> None:
            """Wait for every contender, then try to take the lock (this round's barrier, list and key)."""
            barrier.wait()
            wins.append(store.add("submission-lock", f"key-{round_}", {"at": 1}, 60))

        threads = [threading.Thread(target=contend) for _ in range(CONTENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert wins.count(True) == 1, round_
        assert store.get("submission-lock", f"key-{round_}") == {"at": 1}


def test_an_expired_entry_does_not_block_a_new_add(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = make_backend(None, str(tmp_path))
    assert backend.add("lock", "first", timeout=5)
    assert not backend.add("lock", "second", timeout=5)
    monkeypatch.setattr("cachelib.file.time", lambda: time.time() + 60)  # the holder crashed a minute ago
    assert backend.add("lock", "third", timeout=5)
    assert backend.get("lock") == "third"
