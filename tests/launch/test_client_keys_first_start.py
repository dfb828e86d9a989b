"""Worker processes of one instance that start together with an empty instance folder end up with one
pair of client keys, and none of them fails on the way.

Found by the bench's two-instance mix (bench/throughput.py): the first /launch on each of a fresh
instance's gunicorn workers generated a key; the slower worker found the file already created
(O_EXCL) and answered 500. Whoever writes first wins; everyone else reads the winner's complete file.
"""
from __future__ import annotations

import multiprocessing

from smart_app.launch import keys as keys_module
from smart_app.launch.keys import load_client_keys

WORKERS = 4


def _load_after(barrier: "multiprocessing.synchronize.Barrier", folder: str, results: "multiprocessing.Queue") -> None:
    """One worker: wait for the others, then load (or generate) the keys; report its JWKS or its error."""
    barrier.wait()
    try:
        results.put(("ok", load_client_keys(folder).public_jwks()))
    except Exception as exc:  # the failure is the finding: report it to the test
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_workers_starting_together_share_one_generated_key_pair(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(WORKERS), context.Queue()
    workers = [context.Process(target=_load_after, args=(barrier, str(tmp_path), results)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert [kind for kind, _ in answers] == ["ok"] * WORKERS, answers
    assert all(jwks == answers[0][1] for _, jwks in answers)
    assert load_client_keys(str(tmp_path)).public_jwks() == answers[0][1]  # the one on disk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client-es384.pem", "client-rs384.pem"]  # no leftovers


def test_a_key_written_by_another_worker_while_this_one_generated_is_the_one_used(tmp_path, monkeypatch):
    winner = load_client_keys(str(tmp_path / "winner"))
    real_generate = keys_module.RSAKey.generate_key

    def generate_while_another_worker_writes(*args, **kwargs):
        """This worker's generation; meanwhile the other worker's complete key file appears."""
        key = real_generate(*args, **kwargs)
        for name in ("client-rs384.pem", "client-es384.pem"):
            (tmp_path / "race" / name).write_bytes((tmp_path / "winner" / name).read_bytes())
        return key

    (tmp_path / "race").mkdir()
    monkeypatch.setattr(keys_module.RSAKey, "generate_key", generate_while_another_worker_writes)
    assert load_client_keys(str(tmp_path / "race")).public_jwks() == winner.public_jwks()
    assert sorted(p.name for p in (tmp_path / "race").iterdir()) == ["client-es384.pem", "client-rs384.pem"]  # no leftovers
