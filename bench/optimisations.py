"""Earlier optimisations, each measured with and without: `python -m bench.optimisations` (about 2 minutes).

Each "without" is switched on from here, from the outside, for the run only (nothing in smart_app/
knows): an optimisation stays only while a number here shows it paying for itself.

- **Token kept per request** (smart_app/launch/session.py `Launch._token`): without it, every EHR call
  of a page reads and decrypts the launch record again. Measured: database calls, Fernet calls and
  their CPU per page (the in-process attribution of (b)).
- **Prebuilt upserts** (smart_app/store.py `LaunchStore.__init__`): without them, `put` builds its
  INSERT ... ON CONFLICT on every call. Measured: CPU and wall per `put` on SQLite (median of 400).
- **In-process refresh locks, striped** (smart_app/launch/session.py `_lock_for`): the EHR answers in
  150 ms; a launch's token is made to expire and four requests of it arrive together, then two
  launches refresh at once. Measured: the slowest request's wall time and the token requests. Without
  ("store lock only") the waiters poll the store's lock every 0.1 s; "one lock" is a single
  process-wide lock instead of 256 stripes.
"""
from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from bench.harness import World, browser_session, create_bench_app, launch_in_process, start_world
from bench.roundtrips import CLINICIAN, PATIENT
from bench.servercost import attribute, prepare

LATENCY_MS = 150


def _without_token_kept() -> Callable[[], None]:
    """Launch keeps no token between its EHR calls; returns the undo."""
    from smart_app.launch import session

    original = session.Launch._remember

    def remember(self: Any, record: dict[str, Any], *, refreshed: bool = False) -> str:
        """As shipped, then forget the token so the next EHR call reads the record again."""
        token = original(self, record, refreshed=refreshed)
        self._token = None
        return token

    session.Launch._remember = remember  # type: ignore[method-assign]
    return lambda: setattr(session.Launch, "_remember", original)


def _without_prebuilt_upsert() -> Callable[[], None]:
    """LaunchStore.put builds its upsert on every call; returns the undo."""
    from smart_app import store
    from smart_app.database import records

    original = store.LaunchStore.put

    def put(self: Any, namespace: str, key: str, value: Any, ttl: int, *, group: str | None = None,
            address: str | None = None) -> None:
        """Build the statement, as without the optimisation, then put."""
        statement = store.upsert(self.engine, records)
        self._put = statement.on_conflict_do_update(
            index_elements=[records.c.namespace, records.c.key],
            set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at,
                  "grp": statement.excluded.grp, "addr": statement.excluded.addr})
        return original(self, namespace, key, value, ttl, group=group, address=address)

    store.LaunchStore.put = put  # type: ignore[method-assign]
    return lambda: setattr(store.LaunchStore, "put", original)


def _lock_variant(name: str) -> Callable[[], None]:
    """Swap the in-process refresh lock ("striped" as shipped, "store lock only", "one lock"); returns the undo."""
    from smart_app.launch import session

    original = session._lock_for
    one = threading.Lock()
    if name == "store lock only":
        session._lock_for = lambda rt, handle: threading.Lock()  # excludes nobody
    elif name == "one lock":
        session._lock_for = lambda rt, handle: one
    return lambda: setattr(session, "_lock_for", original)


def _token_kept(world: World, app: Any, workdir: Path, rounds: int) -> dict[str, Any]:
    """Database and Fernet calls and CPU per page, with and without the token kept, alternating."""
    out: dict[str, Any] = {}
    for _ in range(rounds):
        for variant in ("with", "without"):
            undo = _without_token_kept() if variant == "without" else (lambda: None)
            try:
                pages = attribute(world, app, runs=20, floor_file=workdir / "floor.pickle")
            finally:
                undo()
            for page, parts in pages.items():
                if page.startswith("floor"):
                    continue
                row = out.setdefault(page, {}).setdefault(variant, {"cpu_ms": [], "db_calls": [], "fernet_calls": [],
                                                                     "db_cpu_ms": [], "fernet_cpu_ms": []})
                row["cpu_ms"].append(parts["in_process_cpu_ms"])
                row["db_calls"].append(parts["calls_per_page"].get("database", 0))
                row["fernet_calls"].append(parts["calls_per_page"].get("Fernet", 0))
                row["db_cpu_ms"].append(parts["cpu_ms_per_page"].get("database", 0))
                row["fernet_cpu_ms"].append(parts["cpu_ms_per_page"].get("Fernet", 0))
    return {page: {variant: {k: round(statistics.median(v), 3) for k, v in row.items()} for variant, row in variants.items()}
            for page, variants in out.items()}


def _upserts(app: Any, rounds: int, puts: int = 400) -> dict[str, Any]:
    """Median CPU and wall ms per LaunchStore.put, with and without the prebuilt statement, alternating."""
    from smart_app.launch.runtime import EXTENSION

    store = app.extensions[EXTENSION].store
    value = {"record": "x" * 1200}  # about a launch record's size
    samples: dict[str, dict[str, list[float]]] = {v: {"cpu_ms": [], "wall_ms": []} for v in ("with", "without")}
    for _ in range(rounds):
        for variant in ("with", "without"):
            undo = _without_prebuilt_upsert() if variant == "without" else (lambda: None)
            try:
                for i in range(puts):
                    cpu, wall = time.thread_time(), time.perf_counter()
                    store.put("bench-optimisations", f"k{i % 50}", value, 600)
                    samples[variant]["cpu_ms"].append((time.thread_time() - cpu) * 1000)
                    samples[variant]["wall_ms"].append((time.perf_counter() - wall) * 1000)
            finally:
                undo()
    return {v: {k: round(statistics.median(x), 4) for k, x in s.items()} for v, s in samples.items()}


def _expire(app: Any, handle: str) -> None:
    """Make the launch's access token due for refresh (inside the refresh skew)."""
    from smart_app.launch.records import read_launch, write_launch
    from smart_app.launch.runtime import EXTENSION

    rt = app.extensions[EXTENSION]
    record = read_launch(rt.store, handle)
    record["expires_at"] = time.time() + 5
    write_launch(rt.store, handle, record, rt.idle_timeout)


def _together(requests_: list[tuple[Any, str]]) -> list[tuple[float, int]]:
    """Send the GETs at once (released by a barrier): wall ms and status of each."""
    barrier = threading.Barrier(len(requests_))
    answers: list[tuple[float, int]] = [(0.0, 0)] * len(requests_)

    def run(i: int, client: Any, path: str) -> None:
        """One request."""
        barrier.wait()
        started = time.perf_counter()
        status = client.get(path).status_code
        answers[i] = ((time.perf_counter() - started) * 1000, status)

    threads = [threading.Thread(target=run, args=(i, c, p)) for i, (c, p) in enumerate(requests_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _refresh_locks(world: World, app: Any, rounds: int) -> dict[str, Any]:
    """Slowest wall time and token requests when refreshes meet, per lock variant, alternating."""
    browser = browser_session()
    out: dict[str, dict[str, list[Any]]] = {}
    world.uncan(delay_ms=0)
    first, second = app.test_client(), app.test_client()
    one, _ = launch_in_process(first, world, world.new_launch(patient=PATIENT, practitioner=CLINICIAN), browser)
    two, _ = launch_in_process(second, world, world.new_launch(patient=PATIENT, practitioner=CLINICIAN), browser)
    world.uncan(delay_ms=LATENCY_MS)
    first.get(f"/l/{one}/")
    second.get(f"/l/{two}/")  # the front has picked up the delay; connections warm
    for _ in range(rounds):
        for name in ("striped", "store lock only", "one lock"):
            undo = _lock_variant(name)
            try:
                with app.app_context():
                    _expire(app, one)
                world.counter.reset()
                same = _together([(first, f"/l/{one}/")] * 4)
                same_tokens = sum(1 for e in world.counter.everything() if e.path.endswith("/auth/token"))
                with app.app_context():
                    _expire(app, one)
                    _expire(app, two)
                world.counter.reset()
                both = _together([(first, f"/l/{one}/"), (second, f"/l/{two}/")])
                both_tokens = sum(1 for e in world.counter.everything() if e.path.endswith("/auth/token"))
            finally:
                undo()
            row = out.setdefault(name, {"one_launch_4_requests_ms": [], "two_launches_ms": [], "token_requests": [],
                                        "statuses": []})
            row["one_launch_4_requests_ms"].append(round(max(w for w, _ in same)))
            row["two_launches_ms"].append(round(max(w for w, _ in both)))
            row["token_requests"].append([same_tokens, both_tokens])
            row["statuses"] += sorted({s for _, s in same + both} - set(row["statuses"]))
    world.uncan(delay_ms=0)
    return {name: {**row, "one_launch_4_requests_median_ms": statistics.median(row["one_launch_4_requests_ms"]),
                   "two_launches_median_ms": statistics.median(row["two_launches_ms"])} for name, row in out.items()}


def measure_optimisations(rounds: int = 3) -> dict[str, Any]:
    """All three, in a world of their own."""
    import os

    with tempfile.TemporaryDirectory(prefix="smart-bench-opt-") as tmp:
        workdir = Path(tmp)
        world = start_world(workdir)
        try:
            app = create_bench_app(world, workdir / "app-instance")
            prepare(world, app, workdir / "floor.pickle")
            results: dict[str, Any] = {"load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
            results["token_kept_per_request"] = _token_kept(world, app, workdir, rounds)
            with app.app_context():
                results["prebuilt_upserts"] = _upserts(app, rounds)
            world.uncan()
            results["refresh_locks"] = _refresh_locks(world, app, rounds * 2)
            results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
            return results
        finally:
            world.uncan()
            world.close()


if __name__ == "__main__":
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    result = measure_optimisations()
    out = Path(__file__).resolve().parent / "results" / "optimisations.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, sort_keys=True))
