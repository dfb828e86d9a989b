"""(c) Pages per second under gunicorn (production settings) against the out-of-process EHR: app vs floor,
and two app instances sharing one Redis running a launch-and-pages mix with zero errors."""
from __future__ import annotations

import threading
import time
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlsplit

import requests

from bench.harness import World, browser_session, cpu_seconds
from bench.roundtrips import CLINICIAN, PATIENT
from bench.served import COOKIE, SIGNIN_COOKIE, THREADS, WORKERS, Server

CONNECTIONS = 16


def load(url: str, headers: dict[str, str], seconds: float, connections: int = CONNECTIONS, *,
         method: str = "GET", body: bytes | None = None) -> dict[str, Any]:
    """Keep-alive requests (GETs unless told) from `connections` threads for `seconds`: answers per second
    and how many were not 200."""
    parts = urlsplit(url)
    stop = time.monotonic() + seconds
    counts = {"ok": 0, "bad": 0}
    lock = threading.Lock()

    def worker() -> None:
        """Send requests back to back until the deadline."""
        conn = HTTPConnection(parts.hostname, parts.port, timeout=60)
        ok = bad = 0
        while time.monotonic() < stop:
            try:
                conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok, bad = (ok + 1, bad) if response.status == 200 else (ok, bad + 1)
            except OSError:
                bad += 1
                conn.close()
                conn = HTTPConnection(parts.hostname, parts.port, timeout=60)
        conn.close()
        with lock:
            counts["ok"] += ok
            counts["bad"] += bad

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started, cpu_started = time.monotonic(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    # The client shares the 2 CPUs: how much of one it used says whether it, not the server, was the limit.
    return {"rps": round(counts["ok"] / elapsed, 1), "errors": counts["bad"],
            "client_cpu_share": round((time.process_time() - cpu_started) / elapsed, 2)}


def measure_throughput(world: World, app_server: Server, app_page: dict[str, str], app_headers: dict[str, str],
                       floor_server: Server, floor_page: dict[str, str], floor_headers: dict[str, str],
                       ehr_read: tuple[str, str, str], seconds: float) -> dict[str, Any]:
    """App vs floor pages/s per page, with the EHR's own capacity and its CPU share while serving the app.

    The EHR's capacity is measured on `ehr_read` (method, URL, body): a read a page makes, answered
    from memory as in the runs (the home page's FHIR batch), so it is the EHR the app actually meets.
    """
    results: dict[str, Any] = {"workers": WORKERS, "threads": THREADS, "connections": CONNECTIONS, "seconds": seconds}
    ehr_pids = world.ehr.pids()
    method, url, body = ehr_read
    ehr = load(url, {"Authorization": "Bearer bench", "Content-Type": "application/fhir+json"}, min(seconds, 3),
               method=method, body=body.encode("utf-8") if body else None)
    if not ehr["rps"] or ehr["errors"]:
        raise RuntimeError(f"the EHR front answered {ehr['rps']} req/s with {ehr['errors']} errors to {method} {url}: "
                           "the probe does not hit what the EHR serves in this run")
    results["ehr_capacity_rps"] = ehr["rps"]
    results["ehr_capacity_request"] = f"{method} {urlsplit(url).path}" + (" (FHIR batch of the home page's reads)" if body else "")
    results["ehr_capacity_client_cpu_share"] = ehr["client_cpu_share"]
    for name in app_page:
        redis_pids = [world.redis.process.pid]
        ehr0, app0, redis0 = cpu_seconds(ehr_pids), app_server.cpu(), cpu_seconds(redis_pids)
        app = load(app_page[name], app_headers, seconds)
        ehr_cpu, app_cpu, redis_cpu = cpu_seconds(ehr_pids) - ehr0, app_server.cpu() - app0, cpu_seconds(redis_pids) - redis0
        floor0 = floor_server.cpu()
        floor = load(floor_page[name], floor_headers, seconds)
        floor_cpu = floor_server.cpu() - floor0
        results[name] = {"app_rps": app["rps"], "floor_rps": floor["rps"], "app_errors": app["errors"], "floor_errors": floor["errors"],
                         "ratio": round(app["rps"] / floor["rps"], 2) if floor["rps"] else None,
                         "ehr_cpu_share": round(ehr_cpu / seconds, 2), "app_cpu_share": round(app_cpu / seconds, 2),
                         "redis_cpu_share": round(redis_cpu / seconds, 2),
                         "app_cpu_ms_per_page": round(app_cpu * 1000 / max(1.0, app["rps"] * seconds), 2),
                         "floor_cpu_ms_per_page": round(floor_cpu * 1000 / max(1.0, floor["rps"] * seconds), 2),
                         "floor_cpu_share": round(floor_cpu / seconds, 2),
                         "client_cpu_share_app": app["client_cpu_share"], "client_cpu_share_floor": floor["client_cpu_share"]}
    return results


class _Person(requests.Session):
    """One simulated person's browser: a failure says which request it was and how long that connection
    had been idle; a GET that fails on a reused keep-alive connection before any answer is sent again
    once on a new connection, as browsers do (gunicorn closes a connection idle for 2 s, and a request
    sent just then meets the close: seen in this mix as "reset by peer" after 2.1 s idle)."""

    def __init__(self) -> None:
        """No requests yet; environment proxies ignored."""
        super().__init__()
        self.trust_env = False
        self.last: dict[str, float] = {}
        self.doing = ""
        self.resent = 0

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Send, noting what and after how long an idle time on this origin; resend once as described."""
        origin = "/".join(url.split("/")[:3])
        idle = time.monotonic() - self.last[origin] if origin in self.last else None
        self.doing = f"{method} {urlsplit(url).path.split('/')[-1] or 'home'} on :{urlsplit(url).port}" + (
            f" after {idle:.1f} s idle" if idle is not None else " (new connection)")
        try:
            return super().request(method, url, *args, **kwargs)
        except requests.ConnectionError as exc:
            if method != "GET" or idle is None or "Connection aborted" not in str(exc):
                raise
            self.resent += 1
            return super().request(method, url, *args, **kwargs)
        finally:
            self.last[origin] = time.monotonic()


def _one_launch(world: World, instances: list[str], i: int, http: requests.Session) -> str:
    """An EHR launch started on one instance; the callback lands where the registration says. Returns the handle.

    The session cookie is Secure (production settings), so it is carried by hand over loopback http.
    """
    http.headers["X-Forwarded-For"] = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"  # one person, one address
    start = http.get(f"{instances[i % 2]}/launch", params={"iss": world.fhir_base, "launch": world.new_launch(patient=PATIENT, practitioner=CLINICIAN)},
                     allow_redirects=False, timeout=60)
    if start.status_code != 302:
        raise RuntimeError(f"/launch answered {start.status_code}")
    http.headers["Cookie"] = f"{SIGNIN_COOKIE}={start.cookies[SIGNIN_COOKIE]}"
    at_ehr = browser_session().get(start.headers["Location"], allow_redirects=False, timeout=60)
    done = http.get(at_ehr.headers["Location"], allow_redirects=False, timeout=60)
    if done.status_code != 303:
        raise RuntimeError(f"/callback answered {done.status_code}")
    http.headers["Cookie"] = f"{COOKIE}={done.cookies[COOKIE]}"  # the session begins at the callback
    return urlsplit(done.headers["Location"]).path.strip("/").split("/")[1]


def measure_shared_redis(world: World, instances: list[str], seconds: float, users: int = 4) -> dict[str, Any]:
    """Two instances, one Redis: each simulated person launches, then opens home, PHQ-9 and home again, alternating instances."""
    stop = time.monotonic() + seconds
    totals = {"launches": 0, "pages": 0, "errors": 0, "resent_after_keepalive_close": 0}
    problems: list[str] = []
    lock = threading.Lock()

    def person(n: int) -> None:
        """Launch and browse until the deadline."""
        i = n
        while time.monotonic() < stop:
            http = _Person()
            launches = pages = errors = 0
            try:
                handle = _one_launch(world, instances, i, http)
                launches += 1
                for rel in ("", "questionnaires/phq-9", ""):
                    i += 1
                    page = http.get(f"{instances[i % 2]}/l/{handle}/{rel}", timeout=60)
                    if page.status_code == 200:
                        pages += 1
                    else:
                        errors += 1
                        problems.append(f"{rel or 'home'} answered {page.status_code}")
            except (requests.RequestException, RuntimeError, KeyError) as exc:
                errors += 1
                problems.append(f"{http.doing}: {type(exc).__name__}: {exc}"[:200])
            finally:
                http.close()
            with lock:
                totals["launches"] += launches
                totals["pages"] += pages
                totals["errors"] += errors
                totals["resent_after_keepalive_close"] += http.resent

    threads = [threading.Thread(target=person, args=(n,)) for n in range(users)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"seconds": round(elapsed, 1), "users": users, **totals, "pages_per_s": round(totals["pages"] / elapsed, 1),
            "launches_per_s": round(totals["launches"] / elapsed, 2), "first_problems": problems[:3]}
