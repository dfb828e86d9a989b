"""(g) What a person waits for when every EHR answer takes 150 ms: launch -> home, home -> form, send -> receipt.

The EHR front holds every answer (the app's requests and the browser's visits to the EHR alike)
150 ms, like the sandbox's latency fault, and forwards everything to the sandbox (nothing canned,
so writes and the reads after them are real). Serial depth is counted at the sandbox over all of
a step's requests; the target for a step is depth x 150 ms + 60 ms.
"""
from __future__ import annotations

import time
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

from bench.harness import World, browser_session, launch_in_process, serial_depth
from bench.roundtrips import CLINICIAN, PATIENT

LATENCY_MS = 150
ALLOWANCE_MS = 60


class _Forms(HTMLParser):
    """The POST forms of a page: action and the fields a person would send (first option of each choice)."""

    def __init__(self) -> None:
        """No forms yet."""
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect forms and their inputs."""
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.forms.append({"action": a.get("action", ""), "fields": {}, "buttons": []})
        elif self.forms and tag in ("input", "button") and a.get("name"):
            fields = self.forms[-1]["fields"]
            kind = a.get("type", "submit" if tag == "button" else "text")
            if kind == "submit":
                self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))
            elif kind in ("radio", "checkbox"):
                fields.setdefault(a["name"], a.get("value", "on"))
            elif kind == "hidden" or a.get("value"):
                fields[a["name"]] = a.get("value", "")


def post_forms(html: str) -> list[dict[str, Any]]:
    """Parse a page's POST forms."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _step(world: World, run: Any) -> tuple[Any, dict[str, Any]]:
    """Time one step and count its EHR requests and their serial depth."""
    world.counter.reset()
    started = time.perf_counter()
    result = run()
    ms = (time.perf_counter() - started) * 1000
    # The front holds each request before the sandbox sees it: the EHR's interval starts that much earlier.
    exchanges = [replace(e, start=e.start - LATENCY_MS / 1000) for e in world.counter.everything()]
    depth = serial_depth(exchanges)
    target = depth * LATENCY_MS + ALLOWANCE_MS
    first = min((e.start for e in exchanges), default=started)
    chain = [f"{e.method} {e.path} +{round((e.start - first) * 1000)}..{round((e.end - first) * 1000)} ms"
             for e in sorted(exchanges, key=lambda e: e.start)]
    waiting = _covered_ms([(e.start, e.end) for e in exchanges])
    return result, {"ms": round(ms), "ehr_requests": len(exchanges), "depth": depth, "target_ms": target, "met": ms <= target,
                    "ehr_wait_ms": round(waiting), "own_ms": round(ms - waiting), "requests": chain}


def _covered_ms(intervals: list[tuple[float, float]]) -> float:
    """Milliseconds covered by the union of (start, end) intervals."""
    total, current = 0.0, None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            total += (current[1] - current[0]) if current else 0.0
            current = [start, end]
        else:
            current[1] = max(current[1], end)
    return (total + ((current[1] - current[0]) if current else 0.0)) * 1000


def measure_latency(world: World, app: Any) -> dict[str, Any]:
    """The three steps a person feels, against an EHR that answers in 150 ms (after one untimed pass warms the server)."""
    world.uncan(delay_ms=0)  # the front re-reads its table on its next request
    _flow(world, app)
    world.uncan(delay_ms=LATENCY_MS)
    try:
        return {"latency_ms": LATENCY_MS, "allowance_ms": ALLOWANCE_MS} | _flow(world, app)
    finally:
        world.uncan(delay_ms=0)


def _flow(world: World, app: Any) -> dict[str, Any]:
    """Launch, open PHQ-9, answer it, review, send; the three person-facing steps timed."""
    client = app.test_client()
    browser = browser_session()
    (handle, home), launch = _step(world, lambda: launch_in_process(client, world, world.new_launch(patient=PATIENT, practitioner=CLINICIAN), browser))
    if home.status_code != 200:
        raise RuntimeError(f"home answered {home.status_code}")
    form_path = f"/l/{handle}/questionnaires/phq-9"
    page, to_form = _step(world, lambda: client.get(form_path))
    if page.status_code != 200:
        raise RuntimeError(f"the form answered {page.status_code}")
    # Answer every question and go to the review page (not timed: the person is typing).
    form = next(f for f in post_forms(page.get_data(as_text=True)) if f["action"].endswith("phq-9"))
    review = client.post(form["action"], data={**form["fields"], "action": "submit"}, follow_redirects=True)
    send = next((f for f in post_forms(review.get_data(as_text=True)) if f["action"].endswith("/send")), None)
    if send is None:
        raise RuntimeError(f"no send form on the review page ({review.status_code})")
    receipt, sent = _step(world, lambda: client.post(send["action"], data=send["fields"], follow_redirects=True))
    if receipt.status_code != 200:
        raise RuntimeError(f"the receipt answered {receipt.status_code}")
    return {"launch_to_home": launch, "home_to_form": to_form, "send_to_receipt": sent}
