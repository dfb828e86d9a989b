"""The bench's table (stdout) and JSON result file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGETS = {
    "a": "1 token request + 1 read wave (depth 2 from launch; 1 per page)",
    "b": "app/bare <= 3x",
    "c": "app/bare >= 0.33x",
    "d": "100 -> 1,000 items <= 12x",
    "e": "<= 8 KB per launch",
}


def _row(section: str, what: str, result: str, baseline: str, verdict: str) -> tuple[str, ...]:
    """One table row."""
    return (section, what, result, baseline, verdict)


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
    elif a:
        out.append(_row("a", "round trips", "error", "", a["error"]))
    b = results.get("b_server_time")
    if isinstance(b, dict) and "error" not in b:
        for key, label in (("phq9", "PHQ-9 page"), ("form187", "187-item form page")):
            item = b[key]
            out.append(_row("b", f"{label}, median ms", f"{item['app_ms']} ms (own {item['app_own_ms']} ms, {item['upstream_requests']} EHR reads)", f"bare {item['bare_ms']} ms",
                            f"{item['ratio']}x {_ok(item['ratio'] <= 3)}"))
    elif b:
        out.append(_row("b", "server time", "error", "", b["error"]))
    c = results.get("c_throughput")
    if isinstance(c, dict) and "error" not in c:
        for key, label in (("home", "home page"), ("phq9", "PHQ-9 page")):
            item = c[key]
            ratio = item["ratio"]
            out.append(_row("c", f"{label}, req/s ({c['workers']} workers, {item['tool']})",
                            f"{item['app_rps']} (EHR served {item.get('ehr_rps')} req/s, {item.get('ehr_mean_ms')} ms each)",
                            f"bare {item['bare_rps']}", f"{ratio}x {_ok(ratio is not None and ratio >= 0.33)}"))
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
        out.append(_row("e", "launch record in the store", f"{e['launch_record_bytes']} B",
                        f"all keys {e['bytes_per_launch_all_keys']} B", _ok(e["bytes_per_launch_all_keys"] <= 8192)))
        out.append(_row("e", f"Redis memory, {e['stored_launches']:,} launches",
                        f"{e['redis_used_memory_bytes'] / 1e6:.1f} MB", f"{e['redis_bytes_per_launch']} B/launch", ""))
    elif e:
        out.append(_row("e", "storage", "error", "", e["error"]))
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
