"""The bench's table (stdout) and JSON result file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGETS = {
    "a": "1 token request + 1 read wave (depth 2 from launch; 1 per page; 2 from send to receipt)",
    "b": "CPU per page <= 1.5x the floor; PHQ-9 page <= 5 ms CPU",
    "c": "app >= 0.67x the floor's pages/s; two instances on one Redis: 0 errors",
    "d": "100 -> 1,000 items <= 12x",
    "e": "<= 8 KB per launch (database rows + session)",
    "f": "ours <= 0.2x LHC-Forms in time, <= 0.1x in bytes",
    "g": "each step <= serial depth x 150 ms + 60 ms",
    "h": "the R4 check of a send <= 5x the CPU of serialising it",
}


def _row(section: str, what: str, result: str, baseline: str, verdict: str) -> tuple[str, ...]:
    """One table row."""
    return (section, what, result, baseline, verdict)


def _short(category: str) -> str:
    """A category's name, short enough for the table."""
    return {"EHR reads": "EHR reads", "store round trips": "Redis", "form evaluation": "evaluate", "database": "DB"}.get(category, category)


def _ok(flag: bool | None) -> str:
    """Met, missed, or not measured."""
    return "n/a" if flag is None else ("met" if flag else "MISSED")


def rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """Table rows for whatever sections ran (a failed section shows its error)."""
    out: list[tuple[str, ...]] = []
    a = results.get("a_round_trips")
    if isinstance(a, dict) and "error" not in a:
        launch = a["launch_to_home"]
        out.append(_row("a", "EHR launch -> home page", f"{launch['total']} requests, depth {launch['depth']}",
                        f"{launch['token_requests']} token request", _ok(launch["token_requests"] == 1 and launch["depth"] <= 2)))
        for key, label in (("home_to_questionnaire", "home -> PHQ-9 page"), ("home_to_intake", "home -> intake (prefilled)"),
                           ("home_to_medications", "home -> medication review")):
            step = a[key]
            out.append(_row("a", label, f"{step['total']} requests, depth {step['depth']}", "", _ok(step["depth"] <= 1)))
        send = a.get("send_to_receipt")
        if send:
            out.append(_row("a", "send -> receipt (PHQ-9)", f"{send['total']} requests, depth {send['depth']}",
                            "1 read wave + the transaction; the receipt reads nothing", _ok(send["depth"] <= 2)))
    elif a:
        out.append(_row("a", "round trips", "error", "", a["error"]))
    setup = results.get("setup_served")
    if isinstance(setup, dict) and "error" in setup:
        out.append(_row("b", "serving the app and the floor (b, c, f)", "error", "", setup["error"]))
    b = results.get("b_server_cost")
    if isinstance(b, dict) and "error" not in b:
        large = b.get("large_form_first_page") or {}
        large_label = (f"187-item form, step 1/{large['steps']} ({large['first_step_questions']} q.)" if large.get("steps", 1) > 1
                       else "187-item form page")
        for key, label in (("home", "home page"), ("phq9", "PHQ-9 page"), ("form187", large_label)):
            item = b[key]
            ok = item["cpu_ratio"] is not None and item["cpu_ratio"] <= 1.5 and (key != "phq9" or item["app_cpu_ms"] <= 5)
            out.append(_row("b", f"{label}: CPU/page; median, p95 wall",
                            f"{item['app_cpu_ms']} ms CPU (+Redis {item.get('redis_cpu_ms_per_app_page')}, EHR {item['ehr_cpu_ms_per_app_page']}); {item['app_median_ms']}, {item['app_p95_ms']} ms",
                            f"floor {item['floor_cpu_ms']} ms CPU; {item['floor_median_ms']}, {item['floor_p95_ms']} ms",
                            f"{item['cpu_ratio']}x {_ok(ok)}"))
        for key in ("home", "phq9", "form187", "floor_home", "floor_phq9", "floor_form187"):
            parts = b.get("attribution", {}).get(key, {})
            if parts:
                detail = ", ".join(f"{_short(k)} {v:.2f}" + (f"/{parts['calls_per_page'][k]:g}" if k in parts["calls_per_page"] else "") for k, v in parts["cpu_ms_per_page"].items())
                out.append(_row("b", f"  {key.replace('_', ' ')}: CPU ms/calls per page", f"{parts['in_process_cpu_ms']} ms CPU in-process", detail, ""))
    elif b:
        out.append(_row("b", "server cost", "error", "", b["error"]))
    c = results.get("c_throughput")
    if isinstance(c, dict) and "error" not in c:
        for key, label in (("home", "home page"), ("phq9", "PHQ-9 page")):
            item = c[key]
            ratio = item["ratio"]
            out.append(_row("c", f"{label}, pages/s ({c['workers']}x{c['threads']} gthread)",
                            f"{item['app_rps']}, {item['app_cpu_ms_per_page']} ms CPU/page ({item['app_errors']} errors; CPUs: app {item['app_cpu_share']}, Redis {item['redis_cpu_share']}, EHR {item['ehr_cpu_share']}, client {item['client_cpu_share_app']})",
                            f"floor {item['floor_rps']}, {item['floor_cpu_ms_per_page']} ms CPU/page (CPUs: floor {item['floor_cpu_share']}, client {item['client_cpu_share_floor']}); EHR alone {c['ehr_capacity_rps']} batches/s",
                            f"{ratio}x {_ok(ratio is not None and ratio >= 0.67)}"))
        busy = c.get("contention")
        if busy:
            waits = ", ".join(f"{_short(k)} {busy['wall_ms_per_page'][k]:.1f}/{busy['cpu_ms_per_page'].get(k, 0):.2f}"
                              for k in busy["wall_ms_per_page"])
            out.append(_row("c", f"  home, {busy['threads']} threads in-process: wall/CPU ms per page",
                            f"{busy['pages']} pages", waits, ""))
        mix = c.get("shared_redis")
        if mix:
            out.append(_row("c", f"2 instances, 1 Redis, launch+pages {mix['seconds']} s",
                            f"{mix['pages_per_s']} pages/s, {mix['launches_per_s']} launches/s",
                            f"{mix['errors']} errors; {mix.get('resent_after_keepalive_close', 0)} GETs resent after a keep-alive close",
                            _ok(mix["errors"] == 0)))
    elif c:
        out.append(_row("c", "throughput", "error", "", c["error"]))
    d = results.get("d_scaling")
    if isinstance(d, dict) and "error" not in d:
        sizes = [k for k in d if k.isdigit()]
        out.append(_row("d", "render+validate+QR ms by items", ", ".join(f"{k}: {d[k]['ms']}" for k in sizes), "",
                        f"{d.get('ratio_100_to_1000')}x {_ok(d.get('ratio_100_to_1000', 99) <= 12)}"))
    elif d:
        out.append(_row("d", "scaling", "error", "", d["error"]))
    e = results.get("e_storage")
    if isinstance(e, dict) and "error" not in e:
        out.append(_row("e", "one launch: database rows + Redis session", f"{e['bytes_per_launch_all']} B",
                        f"launch record {e['launch_record_bytes']} B; rows {e['database_bytes_per_launch']} B; "
                        f"session {e['redis_session_bytes']} B", _ok(e["bytes_per_launch_all"] <= 8192)))
        for name, backend in e["backends"].items():
            if "skipped" in backend or "error" in backend:
                out.append(_row("e", f"{name}, {e['stored_launches']:,} launches", "skipped", "",
                                backend.get("skipped") or backend.get("error", "")))
                continue
            out.append(_row("e", f"{name}, {e['stored_launches']:,} launches: put/get/take ms (p95)",
                            f"{backend['put_ms_median']}/{backend['get_ms_median']}/{backend['take_ms_median']} "
                            f"({backend['put_ms_p95']}/{backend['get_ms_p95']}/{backend['take_ms_p95']})",
                            f"{backend['bytes_on_disk'] / 1e6:.1f} MB on disk, {backend['bytes_on_disk_per_launch']} B/launch",
                            ""))
        sessions = e.get("redis_sessions", {})
        if "bytes_per_session" in sessions:
            out.append(_row("e", f"Redis memory, {sessions['sessions']:,} browser sessions",
                            f"{sessions['used_memory_bytes'] / 1e6:.1f} MB", f"{sessions['bytes_per_session']} B/session", ""))
    elif e:
        out.append(_row("e", "storage", "error", "", e["error"]))
    f = results.get("f_phone")
    if isinstance(f, dict) and "error" not in f and "skipped" not in f:
        for name in ("phq9", "form187"):
            for visit in ("cold", "warm"):
                ours, lhc, ratio = f[f"{name}_ours"][visit], f[f"{name}_lhc-forms"][visit], f[f"{name}_{visit}_ratio"]
                out.append(_row("f", f"{name} {visit}: input ms; first question; bytes",
                                f"{ours['accepts_input_ms']}; {ours['first_question_ms']}; {ours['bytes']:,} B",
                                f"LHC {lhc['accepts_input_ms']}; {lhc['first_question_ms']}; {lhc['bytes']:,} B",
                                f"{ratio['time']}x/{ratio['bytes']}x {_ok(ratio['time'] <= 0.2 and ratio['bytes'] <= 0.1)}"))
    elif f:
        out.append(_row("f", "phone", "skipped" if "skipped" in f else "error", "", f.get("skipped") or f["error"]))
    g = results.get("g_latency")
    if isinstance(g, dict) and "error" not in g:
        for key, label in (("launch_to_home", "EHR launch -> home"), ("home_to_form", "home -> PHQ-9 form"),
                           ("send_to_receipt", "send -> receipt")):
            step = g[key]
            out.append(_row("g", f"{label}, 150 ms EHR", f"{step['ms']} ms (own {step['own_ms']} ms)",
                            f"{step['ehr_requests']} requests, depth {step['depth']}: <= {step['target_ms']} ms",
                            _ok(step["met"])))
    elif g:
        out.append(_row("g", "latency", "error", "", g["error"]))
    h = results.get("h_write_check")
    if isinstance(h, dict) and "error" not in h:
        for key, label in (("phq9", "PHQ-9 send"), ("form187", "187-item send")):
            item = h[key]
            out.append(_row("h", f"{label}: R4 check CPU", f"{item['check_cpu_ms']} ms",
                            f"serialising {item['serialise_cpu_ms']} ms ({item['bytes']:,} B)",
                            f"{item['ratio']}x {_ok(item['ratio'] is not None and item['ratio'] <= 5)}"))
    elif h:
        out.append(_row("h", "write check", "error", "", h["error"]))
    return out


def table(results: dict[str, Any]) -> str:
    """A fixed-width table of all rows, with the targets underneath."""
    header = ("", "measure", "SMART Pre-Visit", "baseline / detail", "target")
    body = [header] + rows(results)
    widths = [max(len(r[i]) for r in body) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines += [f"targets: ({k}) {v}" for k, v in TARGETS.items()]
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    """Write the results file (pretty, stable key order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
