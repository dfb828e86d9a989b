"""(b) Server time per request for the PHQ-9 page and a 187-item form, against a bare route rendering the same HTML."""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Callable

from bench.bare import create_bare_app, write_template
from bench.forms import synthetic_questionnaire
from bench.harness import World, browser_session, launch_in_process
from bench.roundtrips import CLINICIAN, PATIENT

LARGE = 187


def _median_ms(call: Callable[[], Any], runs: int, warmup: int = 3) -> float:
    """Median wall time of `call` in milliseconds."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _covered_ms(intervals: list[tuple[float, float]]) -> float:
    """Milliseconds covered by the union of (start, end) intervals: time spent waiting on the EHR."""
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total * 1000


def _split_ms(world: World, call: Callable[[], Any], runs: int) -> tuple[float, float, int]:
    """Median total and median own time (total minus time waiting on the sandbox), and upstream requests per call."""
    totals, owns, counts = [], [], []
    for _ in range(runs):
        world.counter.reset()
        started = time.perf_counter()
        call()
        total = (time.perf_counter() - started) * 1000
        exchanges = world.counter.upstream()
        totals.append(total)
        owns.append(total - _covered_ms([(e.start, e.end) for e in exchanges]))
        counts.append(len(exchanges))
    return statistics.median(totals), statistics.median(owns), max(counts)


def measure_server_time(world: World, app: Any, template_dir: Path, runs: int = 30) -> dict[str, Any]:
    """Median in-process request time for each page, and the bare route's time for the same HTML."""
    world.add_resource(synthetic_questionnaire(LARGE))
    browser = browser_session()
    client = app.test_client()
    handle, _ = launch_in_process(client, world, world.new_launch(patient=PATIENT, practitioner=CLINICIAN,
                                                                  questionnaire=f"Questionnaire/bench-{LARGE}"), browser)
    bare = create_bare_app(template_dir).test_client()
    results: dict[str, Any] = {}
    for name, key in (("phq9", "phq-9"), (f"form{LARGE}", f"bench-{LARGE}")):
        path = f"/l/{handle}/questionnaires/{key}"
        page = client.get(path)
        if page.status_code != 200:
            raise RuntimeError(f"{path} answered {page.status_code}")
        html = page.get_data(as_text=True)
        write_template(template_dir, name, html)
        if bare.get(f"/{name}").get_data(as_text=True) != html:
            raise RuntimeError("the bare route does not reproduce the page")
        for _ in range(3):
            client.get(path)
        app_ms, own_ms, upstream = _split_ms(world, lambda path=path: client.get(path), runs)
        bare_ms = _median_ms(lambda name=name: bare.get(f"/{name}"), runs)
        results[name] = {"app_ms": round(app_ms, 2), "app_own_ms": round(own_ms, 2), "upstream_requests": upstream,
                         "bare_ms": round(bare_ms, 3), "ratio": round(app_ms / bare_ms, 1),
                         "own_ratio": round(own_ms / bare_ms, 1), "html_bytes": len(html.encode())}
    results["handle"] = handle
    return results
