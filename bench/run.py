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

from bench.harness import World, create_bench_app, start_world
from bench.latency import measure_latency
from bench.report import table, write_json
from bench.roundtrips import measure_round_trips
from bench.scaling import measure_scaling
from bench.served import COOKIE, start_app, start_floor, warm_launch
from bench.servercost import LAUNCH_CONTEXT, attribute, contention, floor_cookie, measure_server_cost, prepare
from bench.storage import measure_storage
from bench.throughput import measure_shared_redis, measure_throughput
from bench.validation import measure_validation

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
    parser.add_argument("--only", default="abcdefgh", help="sections to run, e.g. 'ad' (default all)")
    parser.add_argument("--quick", action="store_true", help="shorter runs (the shared-Redis mix 10 s instead of 60 s)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    started = time.perf_counter()
    results: dict[str, Any] = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "python": platform.python_version(), "machine": platform.machine(),
                               "cpus": _cpus(), "load_average_at_start": _loadavg(), "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="smart-bench-") as tmp:
        workdir = Path(tmp)
        world = start_world(workdir)
        try:
            app = create_bench_app(world, workdir / "app-instance")
            if "a" in args.only:
                _section(results, "a_round_trips", lambda: measure_round_trips(world, app))
            if set(args.only) & set("bcf"):
                _served_sections(results, world, app, workdir, args)
            if "d" in args.only:
                _section(results, "d_scaling", lambda: measure_scaling(app))
            if "e" in args.only:
                _section(results, "e_storage", lambda: measure_storage(world, app))
            if "g" in args.only:
                _section(results, "g_latency", lambda: measure_latency(world, app))
            if "h" in args.only:
                _section(results, "h_write_check", measure_validation)
        finally:
            world.close()
    results["load_average_at_end"] = _loadavg()
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    print()
    print(table(results))
    print(f"\n{results['total_seconds']} s in all; results in {args.out}")
    write_json(results, args.out)
    return 0


def _served_sections(results: dict[str, Any], world: World, app: Any, workdir: Path, args: argparse.Namespace) -> None:
    """(b), (c) and (f): the EHR answers from memory; the app and the floor are served by gunicorn."""
    servers: list[Any] = []
    state: dict[str, Any] = {}

    def setup() -> dict[str, Any]:
        """Record and can the EHR's reads, capture the floor's pages, start both servers."""
        state["prepared"] = prepare(world, app, workdir / "floor.pickle")
        servers.append(start_app(world, world.app_port))
        floor, state["floor_url"] = start_floor(world, workdir / "floor.pickle")
        servers.append(floor)
        state["app_url"] = f"http://127.0.0.1:{world.app_port}"
        return state["prepared"]

    try:
        _section(results, "setup_served", setup)
        if "error" in results["setup_served"]:
            return
        app_server, floor_server = servers
        app_url, floor_url = state["app_url"], state["floor_url"]
        if "b" in args.only:
            def server_cost() -> dict[str, Any]:
                """(b) measured served, then attributed in-process."""
                out = measure_server_cost(world, app_server, app_url, floor_server, floor_url, state["prepared"],
                                          runs=45 if args.quick else 90)
                out["large_form_first_page"] = state["prepared"]["large_form_first_page"]
                out["attribution"] = attribute(world, app, runs=10 if args.quick else 20, floor_file=workdir / "floor.pickle")
                return out

            _section(results, "b_server_cost", server_cost)
        handle, cookie = warm_launch(world, app_url, **LAUNCH_CONTEXT)
        if "c" in args.only:
            def throughput() -> dict[str, Any]:
                """(c) app vs floor, then two instances on one Redis."""
                pages = {"home": "", "phq9": "questionnaires/phq-9"}
                out = measure_throughput(
                    world, app_server, {k: f"{app_url}/l/{handle}/{v}" for k, v in pages.items()},
                    {"Cookie": f"{COOKIE}={cookie}"}, floor_server, {k: f"{floor_url}/floor/{k}" for k in pages},
                    {"Cookie": f"session={floor_cookie(floor_url)}"},
                    _home_read(world, workdir / "floor.pickle"), seconds=3 if args.quick else 5)
                out["contention"] = contention(world, app, threads=16, seconds=3)
                second = start_app(world, world.second_port, "app2")
                try:
                    out["shared_redis"] = measure_shared_redis(world, [app_url, f"http://127.0.0.1:{_port(second)}"],
                                                               seconds=10 if args.quick else 60)
                finally:
                    second.close()
                return out

            _section(results, "c_throughput", throughput)
        if "f" in args.only:
            from bench.phone import measure_phone

            _section(results, "f_phone", lambda: measure_phone(world, workdir, app_url, handle, cookie, quick=args.quick))
    finally:
        for server in reversed(servers):
            server.close()
        world.uncan()


def _home_read(world: World, floor_file: Path) -> tuple[str, str, str]:
    """The home page's first EHR read as recorded (method, URL, body): what the EHR front answers from memory."""
    import pickle

    method, target, body = pickle.loads(floor_file.read_bytes())["pages"]["home"]["reads"][0]
    return method, world.ehr.url + target, body


def _port(server: Any) -> int:
    """The port a served app was started on (from its command line)."""
    argv = server.process.args
    return int(argv[argv.index("--port") + 1])


def _loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (what else the machine was doing)."""
    import os

    return [round(x, 2) for x in os.getloadavg()]


def _cpus() -> int:
    """CPUs available to this process."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
