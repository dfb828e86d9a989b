"""(e) Bytes a launch keeps in the store, and Redis memory for 10,000 stored launches."""
from __future__ import annotations

import secrets
from typing import Any

from bench.harness import World, browser_session, launch_in_process
from bench.roundtrips import CLINICIAN, PATIENT

STORED_LAUNCHES = 10_000


def _namespace(key: bytes) -> str:
    """The record kind of a Redis key (`smart-app:sp:<namespace>:<hash>` or the browser session)."""
    parts = key.decode().split(":")
    return parts[2] if len(parts) > 3 and parts[1] == "sp" else parts[1]


def measure_storage(world: World, app: Any, count: int = STORED_LAUNCHES) -> dict[str, Any]:
    """Launch once and size what it stored; then copy those records `count` times and read Redis's memory."""
    redis = world.redis.client
    before = set(redis.keys("*"))
    launch_in_process(app.test_client(), world, world.new_launch(patient=PATIENT, practitioner=CLINICIAN), browser_session())
    written = sorted(set(redis.keys("*")) - before)
    sizes: dict[str, int] = {}
    for key in written:
        kind = _namespace(key)
        sizes[kind] = sizes.get(kind, 0) + int(redis.strlen(key))
    launch_bytes = sizes.get("launch", 0)

    redis.config_set("maxmemory-policy", "noeviction")
    baseline = int(redis.info("memory")["used_memory"])
    values = [(key, redis.dump(key), max(int(redis.pttl(key)), 60_000)) for key in written]
    pipe = redis.pipeline(transaction=False)
    for i in range(count):
        for key, dumped, ttl in values:
            # Same value bytes under a fresh key of the same kind: exactly what another launch stores.
            prefix = key.rsplit(b":", 1)[0]
            pipe.restore(prefix + b":" + secrets.token_hex(32).encode(), ttl, dumped)
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()
    used = int(redis.info("memory")["used_memory"]) - baseline
    return {"launch_record_bytes": launch_bytes, "bytes_per_launch_all_keys": sum(sizes.values()), "by_kind": sizes,
            "stored_launches": count, "redis_used_memory_bytes": used, "redis_bytes_per_launch": round(used / count)}
