"""(b) Server cost per page against the floor: process CPU per page and wall latency, app and floor served alike.

The EHR answers from memory in its own processes (bench/ehr.py); the app and the floor run under
gunicorn with the same workers and threads; requests go one at a time over one keep-alive
connection, so CPU per page is the server processes' CPU over the run divided by the pages.
Attribution runs the app in-process with timers wrapped around library calls from the outside.
"""
from __future__ import annotations

import statistics
import sys
import threading
import time
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from flask import before_render_template

from bench.floor import LOGIN, page_capture, write_floor_file
from bench.forms import synthetic_questionnaire
from bench.harness import World, browser_session, cpu_seconds, launch_in_process
from bench.roundtrips import CLINICIAN, PATIENT
from bench.served import COOKIE, Server

LARGE = 187
PAGES = {"home": "", "phq9": "questionnaires/phq-9", f"form{LARGE}": f"questionnaires/bench-{LARGE}"}
LAUNCH_CONTEXT = {"patient": PATIENT, "practitioner": CLINICIAN, "questionnaire": f"Questionnaire/bench-{LARGE}"}


def prepare(world: World, app: Any, floor_file: Path) -> dict[str, Any]:
    """Add the large form, render each page in-process while recording the EHR's answers, can them, save the floor file."""
    world.add_resource(synthetic_questionnaire(LARGE))
    client = app.test_client()
    world.counter.recording = True
    try:
        handle, _ = launch_in_process(client, world, world.new_launch(**LAUNCH_CONTEXT), browser_session())
        pages: dict[str, dict[str, Any]] = {}
        for name, rel in PAGES.items():
            path = f"/l/{handle}/{rel}"
            for _ in range(2):  # a first visit starts a draft; the measured visits are later ones
                client.get(path)
            rendered: list[tuple[str, dict]] = []

            def keep(sender: Any, template: Any, context: dict, _into: list = rendered, **_: Any) -> None:
                """Remember what this page rendered, with which data (bound to this page's list)."""
                _into.append((template.name, dict(context)))

            world.counter.reset()
            with before_render_template.connected_to(keep, app):
                page = client.get(path)
            if page.status_code != 200 or not rendered:
                raise RuntimeError(f"{path} answered {page.status_code}")
            reads = [(e.method, e.target, e.body) for e in sorted(world.counter.upstream(), key=lambda e: e.start)]
            pages[name] = page_capture(rendered, reads) | {"app_html_bytes": len(page.data)}
    finally:
        world.counter.recording = False
    write_floor_file(floor_file, app, pages, world.fhir_base)
    return {"canned_reads": world.can_reads(), "large_form_first_page": first_page_of_large_form(),
            "pages": {k: {"reads": len(v["reads"]), "template": v["template"], "app_html_bytes": v["app_html_bytes"]}
                      for k, v in pages.items()}}


def first_page_of_large_form() -> dict[str, int]:
    """What opening the large form shows a person: it is paged (smart_app/forms/paging.py), so its
    first step, not all 187 items; how many steps and questions, for the table's label."""
    from smart_app.forms import build_form
    from smart_app.forms.paging import sections

    form = build_form(synthetic_questionnaire(LARGE))
    questions = {item.link_id for item in form.walk() if item.is_question}
    steps = sections(form)
    first = steps[0].link_ids & questions if steps else questions
    return {"items": LARGE, "questions": len(questions), "steps": len(steps) or 1, "first_step_questions": len(first)}


def _sequential(url: str, headers: dict[str, str], runs: int, server: Server, ehr_pids: list[int],
                redis_pid: int | None = None) -> dict[str, Any]:
    """GET url `runs` times over one keep-alive connection: wall per request, and server, EHR and Redis CPU in all."""
    parts = urlsplit(url)
    conn = HTTPConnection(parts.hostname, parts.port, timeout=60)
    walls = []
    body_bytes = 0
    try:
        redis_pids = [redis_pid] if redis_pid else []
        cpu0, ehr0, redis0 = server.cpu(), cpu_seconds(ehr_pids), cpu_seconds(redis_pids)
        for _ in range(runs):
            started = time.perf_counter()
            conn.request("GET", parts.path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            walls.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}")
            body_bytes = len(body)
        cpu1, ehr1, redis1 = server.cpu(), cpu_seconds(ehr_pids), cpu_seconds(redis_pids)
    finally:
        conn.close()
    return {"cpu": (cpu1 - cpu0) * 1000, "ehr_cpu": (ehr1 - ehr0) * 1000, "redis_cpu": (redis1 - redis0) * 1000,
            "walls": walls, "html_bytes": body_bytes}


def floor_cookie(floor_url: str) -> str:
    """Log in to the floor once: its signed session cookie."""
    import requests

    return requests.get(floor_url + LOGIN, timeout=10).cookies["session"]


def measure_server_cost(world: World, app_server: Server, app_url: str, floor_server: Server, floor_url: str,
                        prepared: dict[str, Any], runs: int) -> dict[str, Any]:
    """App vs floor for each page, measured in alternating blocks so load spikes hit both alike."""
    from bench.served import warm_launch

    handle, cookie = warm_launch(world, app_url, **LAUNCH_CONTEXT)
    app_headers = {"Cookie": f"{COOKIE}={cookie}"}
    floor_headers = {"Cookie": f"session={floor_cookie(floor_url)}"}
    ehr_pids = world.ehr.pids()
    results: dict[str, Any] = {"runs": runs, "canned_reads": prepared["canned_reads"]}
    for name, rel in PAGES.items():
        app_page, floor_page = f"{app_url}/l/{handle}/{rel}", f"{floor_url}/floor/{name}"
        _sequential(app_page, app_headers, 10, app_server, ehr_pids)  # first visit, and both workers warm
        _sequential(floor_page, floor_headers, 10, floor_server, ehr_pids)
        world.counter.reset()
        runs_app: list[dict[str, Any]] = []
        runs_floor: list[dict[str, Any]] = []
        block = max(1, runs // 3)
        for _ in range(3):
            runs_app.append(_sequential(app_page, app_headers, block, app_server, ehr_pids, world.redis.process.pid))
            runs_floor.append(_sequential(floor_page, floor_headers, block, floor_server, ehr_pids))
        forwarded = len(world.counter.upstream())  # reads the EHR front could not answer from memory
        n = 3 * block
        app_cpu = sum(r["cpu"] for r in runs_app) / n
        floor_cpu = sum(r["cpu"] for r in runs_floor) / n
        app_walls = [w for r in runs_app for w in r["walls"]]
        floor_walls = [w for r in runs_floor for w in r["walls"]]
        results[name] = {
            "ehr_reads": prepared["pages"][name]["reads"], "forwarded_reads": forwarded,
            "app_cpu_ms": round(app_cpu, 2), "floor_cpu_ms": round(floor_cpu, 2),
            "cpu_ratio": round(app_cpu / floor_cpu, 2) if floor_cpu else None,
            "app_median_ms": round(statistics.median(app_walls), 2), "app_p95_ms": round(_p95(app_walls), 2),
            "floor_median_ms": round(statistics.median(floor_walls), 2), "floor_p95_ms": round(_p95(floor_walls), 2),
            "ehr_cpu_ms_per_app_page": round(sum(r["ehr_cpu"] for r in runs_app) / n, 2),
            "redis_cpu_ms_per_app_page": round(sum(r["redis_cpu"] for r in runs_app) / n, 2),
            "app_html_bytes": runs_app[-1]["html_bytes"], "floor_html_bytes": runs_floor[-1]["html_bytes"],
        }
        if results[name]["floor_html_bytes"] < 0.8 * results[name]["app_html_bytes"]:
            raise RuntimeError(f"the floor's {name} page is {results[name]['floor_html_bytes']} B against the app's "
                               f"{results[name]['app_html_bytes']} B: it is not rendering the same page")
    return results


def _p95(values: list[float]) -> float:
    """95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]


class _Timers:
    """Wall time, CPU time of the calling thread, and calls per category, summed across threads."""

    def __init__(self) -> None:
        """Empty."""
        self.ms: dict[str, float] = {}
        self.cpu_ms: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def wrap(self, category: str, fn: Callable) -> Callable:
        """fn, timed into `category`."""
        timers = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            """Call through, adding the elapsed time."""
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                cpu = (time.thread_time() - cpu_started) * 1000
                with timers._lock:
                    timers.ms[category] = timers.ms.get(category, 0.0) + elapsed
                    timers.cpu_ms[category] = timers.cpu_ms.get(category, 0.0) + cpu
                    timers.calls[category] = timers.calls.get(category, 0) + 1

        return timed


@contextmanager
def _patched(timers: _Timers) -> Iterator[list[str]]:
    """Wrap the library calls a page's cost is made of; yields what could not be found (a refactor moved it)."""
    import jinja2
    import redis
    import requests
    from cryptography.fernet import MultiFernet

    undo: list[tuple[Any, str, Any]] = []
    missing: list[str] = []

    def patch(owner: Any, attr: str, category: str) -> None:
        """Replace owner.attr by a timed wrapper until the block ends."""
        original = getattr(owner, attr)
        undo.append((owner, attr, original))
        setattr(owner, attr, timers.wrap(category, original))

    patch(MultiFernet, "decrypt", "Fernet")
    patch(MultiFernet, "encrypt_at_time", "Fernet")
    original_execute = redis.Redis.execute_command

    def execute_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        """A Redis round trip (pipelined commands count once, at execute)."""
        return original_execute(self, *args, **kwargs)

    undo.append((redis.Redis, "execute_command", original_execute))
    redis.Redis.execute_command = timers.wrap("store round trips", execute_command)
    patch(redis.client.Pipeline, "execute", "store round trips")
    patch(jinja2.Template, "render", "rendering")
    import sqlalchemy.engine

    patch(sqlalchemy.engine.Connection, "execute", "database")  # launch records, drafts, outbox (values unsealed after it returns)
    patch(requests.Session, "send", "EHR reads")
    found_audit = found_eval = False
    for name, module in list(sys.modules.items()):
        if not name.startswith("smart_app") or module is None:
            continue
        if name.endswith("audit") and hasattr(module, "event") and callable(module.event):
            patch(module, "event", "audit")
            found_audit = True
        evaluate = getattr(module, "evaluate", None)
        if callable(evaluate) and getattr(evaluate, "__module__", "").startswith("smart_app.forms"):
            patch(module, "evaluate", "form evaluation")
            found_eval = True
    if not found_audit:
        missing.append("audit")
    if not found_eval:
        missing.append("form evaluation")
    try:
        yield missing
    finally:
        for owner, attr, original in reversed(undo):
            setattr(owner, attr, original)


def attribute(world: World, app: Any, runs: int, floor_file: Path) -> dict[str, Any]:
    """Where a page's time goes, in-process against the canned EHR: ms and calls per page by category, app and floor."""
    import pickle

    from bench.floor import create_floor_app

    client = app.test_client()
    handle, _ = launch_in_process(client, world, world.new_launch(**LAUNCH_CONTEXT), browser_session())
    floor = create_floor_app(pickle.loads(floor_file.read_bytes())).test_client()
    floor.get(LOGIN)
    results: dict[str, Any] = {}
    targets = [(name, client, f"/l/{handle}/{rel}") for name, rel in PAGES.items()]
    targets += [(f"floor_{name}", floor, f"/floor/{name}") for name in PAGES]
    for name, who, path in targets:
        for _ in range(3):
            who.get(path)
        timers = _Timers()
        walls = []
        cpu0 = time.process_time()
        with _patched(timers) as missing:
            for _ in range(runs):
                started = time.perf_counter()
                who.get(path)
                walls.append((time.perf_counter() - started) * 1000)
        cpu = (time.process_time() - cpu0) * 1000 / runs
        itemised = {k: round(v / runs, 3) for k, v in sorted(timers.cpu_ms.items())}
        # What no wrapped call covers: Flask, Flask-Session, the views' own work, JSON parsing, the test client.
        itemised["rest"] = round(cpu - sum(itemised.values()), 3)
        results[name] = {"in_process_median_ms": round(statistics.median(walls), 2), "in_process_cpu_ms": round(cpu, 2),
                         "ms_per_page": {k: round(v / runs, 3) for k, v in sorted(timers.ms.items())},
                         "cpu_ms_per_page": itemised,
                         "calls_per_page": {k: round(v / runs, 1) for k, v in sorted(timers.calls.items())},
                         "not_found": missing}
    return results


def contention(world: World, app: Any, threads: int, seconds: float) -> dict[str, Any]:
    """The home page from `threads` threads at once, in-process, for `seconds`: wall and CPU ms per page
    inside each wrapped call. Wall far above CPU in a call is waiting (a lock, a round trip), which
    the one-at-a-time attribution cannot show."""
    client = app.test_client()
    handle, _ = launch_in_process(client, world, world.new_launch(**LAUNCH_CONTEXT), browser_session())
    path = f"/l/{handle}/"
    client.get(path)
    timers, done, lock = _Timers(), [0], threading.Lock()
    stop = time.monotonic() + seconds

    def person() -> None:
        """One browser of the same person (the same cookies), requesting until the deadline."""
        own = app.test_client()
        own._cookies = client._cookies  # same session: the load is one launch's pages
        pages = 0
        while time.monotonic() < stop:
            if own.get(path).status_code != 200:
                raise RuntimeError(f"{path} failed under {threads} threads")
            pages += 1
        with lock:
            done[0] += pages

    with _patched(timers):
        workers = [threading.Thread(target=person) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    pages = max(1, done[0])
    return {"threads": threads, "pages": done[0],
            "wall_ms_per_page": {k: round(v / pages, 2) for k, v in sorted(timers.ms.items())},
            "cpu_ms_per_page": {k: round(v / pages, 2) for k, v in sorted(timers.cpu_ms.items())},
            "calls_per_page": {k: round(v / pages, 1) for k, v in sorted(timers.calls.items())}}
