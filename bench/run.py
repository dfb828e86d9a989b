"""Run all five benchmarks against the in-process sandbox and print the table; see README "Benchmarks"."""
from __future__ import annotations

import argparse
import logging
import platform
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from bench.harness import create_bench_app, start_world
from bench.report import table, write_json
from bench.roundtrips import measure_round_trips
from bench.scaling import measure_scaling
from bench.servertime import measure_server_time
from bench.storage import measure_storage
from bench.throughput import measure_throughput

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def _section(results: dict[str, Any], name: str, run: Callable[[], dict[str, Any]]) -> None:
    """Run one benchmark; a failure is recorded and the others still run."""
    started = time.perf_counter()
    print(f"bench: {name} ...", flush=True)
    try:
        results[name] = run()
    except Exception as exc:  # report and carry on: one broken section must not hide the others
        traceback.print_exc()
        results[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    results.setdefault("seconds", {})[name] = round(time.perf_counter() - started, 1)


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the sections, print the table and write the JSON file."""
    parser = argparse.ArgumentParser(prog="python -m bench", description="SMART Pre-Visit benchmarks")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"result file (default {RESULTS})")
    parser.add_argument("--only", default="abcde", help="sections to run, e.g. 'ad' (default all)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    started = time.perf_counter()
    results: dict[str, Any] = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "python": platform.python_version(), "machine": platform.machine(),
                               "cpus": _cpus()}
    with tempfile.TemporaryDirectory(prefix="smart-bench-") as tmp:
        workdir = Path(tmp)
        world = start_world(workdir)
        try:
            app = create_bench_app(world, workdir / "app-instance")
            if "a" in args.only:
                _section(results, "a_round_trips", lambda: measure_round_trips(world, app))
            if "b" in args.only:
                _section(results, "b_server_time", lambda: measure_server_time(world, app, workdir / "bare"))
            if "c" in args.only:
                _section(results, "c_throughput", lambda: measure_throughput(world, workdir / "bare-c"))
            if "d" in args.only:
                _section(results, "d_scaling", lambda: measure_scaling(app))
            if "e" in args.only:
                _section(results, "e_storage", lambda: measure_storage(world, app))
        finally:
            world.close()
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    print()
    print(table(results))
    print(f"\n{results['total_seconds']} s in all; results in {args.out}")
    write_json(results, args.out)
    return 0


def _cpus() -> int:
    """CPUs available to this process."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
