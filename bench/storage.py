"""(e) What a launch keeps in the durable store, and how the store behaves with 10,000 launches in it.

One real EHR launch through the bench's app writes its rows (the launch record, the spent state, ...)
to the database, and its browser session to Redis (the scale-out setting the bench runs). Those
exact rows are then copied under fresh keys until the store holds `count` launches, on each backend
the app supports: the embedded SQLite file and, when Debian's PostgreSQL is installed, a throwaway
PostgreSQL cluster. At that size the store's own operations are timed (a launch record written,
read, and taken once), and the size on disk is read from the database itself.
"""
from __future__ import annotations

import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import func, insert, select, text

from bench.harness import World, browser_session, launch_in_process
from bench.roundtrips import CLINICIAN, PATIENT

STORED_LAUNCHES = 10_000
TIMED_OPERATIONS = 300
BATCH = 1_000


def _rows(engine: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Every row of the records table by (namespace, key)."""
    from smart_app.database import records

    with engine.connect() as conn:
        return {(r.namespace, r.key): dict(r._mapping) for r in conn.execute(select(records))}


def _session_keys(redis: Any) -> set[bytes]:
    """Flask-Session's keys in Redis."""
    return set(redis.keys("*"))


def measure_storage(world: World, app: Any, count: int = STORED_LAUNCHES) -> dict[str, Any]:
    """Launch once and size what it stored; fill each backend to `count` launches; time the store there."""
    store = app.extensions["smart_launch"].store
    redis = world.redis.client
    rows_before, keys_before = _rows(store.engine), _session_keys(redis)
    launch_in_process(app.test_client(), world, world.new_launch(patient=PATIENT, practitioner=CLINICIAN), browser_session())
    written = [row for key, row in _rows(store.engine).items() if key not in rows_before]
    by_kind: dict[str, int] = {}
    for row in written:
        by_kind[row["namespace"]] = by_kind.get(row["namespace"], 0) + len(row["value"])
    session_keys = sorted(_session_keys(redis) - keys_before)
    session_bytes = sum(int(redis.strlen(k)) for k in session_keys)
    launch_rows = [row for row in written if row["namespace"] == "launch"]
    record = store.unseal(launch_rows[0]["value"]) if launch_rows else None  # the launch record, decrypted
    out: dict[str, Any] = {
        "stored_launches": count, "launch_record_bytes": by_kind.get("launch", 0),
        "database_bytes_per_launch": sum(by_kind.values()), "by_namespace": by_kind,
        "redis_session_bytes": session_bytes, "bytes_per_launch_all": sum(by_kind.values()) + session_bytes,
        "backends": {},
    }
    fill: Callable[[Any], dict[str, Any]] = lambda engine: _fill_and_time(engine, store, written, record, count)  # noqa: E731
    out["backends"]["sqlite"] = _on_sqlite(world.workdir, fill)
    out["backends"]["postgresql"] = _on_postgresql(world.workdir, fill)
    out["redis_sessions"] = _redis_sessions(redis, session_keys, count)
    return out


def _fill_and_time(engine: Any, template_store: Any, written: list[dict[str, Any]], record: dict[str, Any] | None,
                   count: int) -> dict[str, Any]:
    """Copy the launch's rows `count` times into a fresh database, then time put/get/take of a launch record."""
    from smart_app.database import migrate, records
    from smart_app.store import LaunchStore

    migrate(engine)
    size_empty = _size(engine)
    now = time.time()
    started = time.perf_counter()
    with engine.begin() as conn:
        for first in range(0, count, BATCH):
            batch = []
            for _ in range(min(BATCH, count - first)):
                for row in written:
                    batch.append({**row, "key": secrets.token_hex(32), "expires_at": max(row["expires_at"], now + 3600)})
            conn.execute(insert(records), batch)
    fill_seconds = time.perf_counter() - started
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(records)).scalar()
    size_full = _size(engine)
    store = LaunchStore(engine, template_store._fernet, template_store._hmac_key)
    value = record or {"access_token": secrets.token_urlsafe(700)}
    put, get, take = [], [], []
    for i in range(TIMED_OPERATIONS):
        key = f"bench-{i}"
        t0 = time.perf_counter()
        store.put("launch", key, value, 3600)
        t1 = time.perf_counter()
        store.get("launch", key)
        t2 = time.perf_counter()
        store.take("launch", key)
        t3 = time.perf_counter()
        put.append(t1 - t0)
        get.append(t2 - t1)
        take.append(t3 - t2)
    store.leases.quiesce()
    return {"rows": stored, "fill_seconds": round(fill_seconds, 2),
            "bytes_on_disk": size_full, "bytes_on_disk_per_launch": round((size_full - size_empty) / count),
            **{f"{name}_ms_median": round(statistics.median(times) * 1000, 3) for name, times in
               (("put", put), ("get", get), ("take", take))},
            **{f"{name}_ms_p95": round(statistics.quantiles(times, n=20)[-1] * 1000, 3) for name, times in
               (("put", put), ("get", get), ("take", take))}}


def _size(engine: Any) -> int:
    """The database's size as the engine itself reports it."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return int(conn.exec_driver_sql("PRAGMA page_count").scalar()) * int(conn.exec_driver_sql("PRAGMA page_size").scalar())
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())


def _on_sqlite(workdir: Path, fill: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """The embedded default: a SQLite file (WAL) like instance/smart-app.db."""
    from smart_app.database import make_engine

    engine = make_engine(f"sqlite:///{workdir / 'storage-bench.db'}")
    try:
        return fill(engine)
    finally:
        engine.dispose()


def _on_postgresql(workdir: Path, fill: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """A throwaway PostgreSQL cluster (Debian's package), the same one the tests start; skipped without it."""
    try:
        from tests.fixtures.postgres import _bindir, start_postgres
    except ImportError as exc:
        return {"skipped": f"the test fixtures are not importable ({exc})"}
    if _bindir() is None:
        return {"skipped": "PostgreSQL is not installed (apt-get install postgresql)"}
    from smart_app.database import make_engine

    del workdir  # the cluster's folder must be reachable by the postgres user: its own temp folder
    folder = Path(tempfile.mkdtemp(prefix="smart-bench-pg-"))
    try:
        server = start_postgres(folder)
    except Exception as exc:  # a cluster that cannot start is reported; the SQLite numbers still stand
        shutil.rmtree(folder, ignore_errors=True)
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    try:
        engine = make_engine(server.url())
        try:
            return fill(engine)
        finally:
            engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _redis_sessions(redis: Any, session_keys: list[bytes], count: int) -> dict[str, Any]:
    """Redis memory for `count` browser sessions like the launch's (copied byte for byte under fresh keys)."""
    if not session_keys:
        return {"skipped": "the launch wrote no session to Redis"}
    redis.config_set("maxmemory-policy", "noeviction")
    baseline = int(redis.info("memory")["used_memory"])
    values = [(key, redis.dump(key), max(int(redis.pttl(key)), 60_000)) for key in session_keys]
    pipe = redis.pipeline(transaction=False)
    for i in range(count):
        for key, dumped, ttl in values:
            prefix = key.rsplit(b":", 1)[0] if b":" in key else key[:8]
            pipe.restore(prefix + b":" + secrets.token_hex(16).encode(), ttl, dumped)
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()
    used = int(redis.info("memory")["used_memory"]) - baseline
    return {"sessions": count, "used_memory_bytes": used, "bytes_per_session": round(used / count)}
