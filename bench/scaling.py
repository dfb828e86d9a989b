"""(d) Render + validate + build the QuestionnaireResponse for synthetic forms of growing size."""
from __future__ import annotations

import statistics
import time
from typing import Any

from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from bench.forms import answers_for, synthetic_questionnaire

SIZES = (10, 100, 1000, 5000)


def fill_once(app: Any, questionnaire: dict, fields: MultiDict) -> int:
    """One POST's worth of work: parse the form, read the answers, validate, render, build the QR; returns HTML size."""
    from flask import render_template

    from smart_app.forms import FormState, ResponseMeta, build_form, evaluate, to_questionnaire_response

    form = build_form(questionnaire)
    state = FormState.from_post(form, fields)
    view = evaluate(form, state)
    with app.test_request_context("/"):
        html = render_template("questionnaires/_form.html", view=view, action_url="/fill", csrf_field=Markup(""))
    meta = ResponseMeta(subject={"reference": "Patient/bench"}, authored="2026-01-01T09:00:00+00:00")
    qr = to_questionnaire_response(form, state, meta, view=view)
    if view.errors or not qr.get("item"):
        raise RuntimeError("the synthetic answers did not validate")
    return len(html)


def measure_scaling(app: Any, sizes: tuple[int, ...] = SIZES, rounds: int = 5) -> dict[str, Any]:
    """Median time per size over `rounds` round-robin passes (so a load spike hits every size alike), and growth ratios."""
    cases = []
    for size in sizes:
        questionnaire = synthetic_questionnaire(size)
        fields = MultiDict(answers_for(questionnaire))
        fill_once(app, questionnaire, fields)  # warm template and expression caches
        cases.append((size, questionnaire, fields))
    samples: dict[int, list[float]] = {size: [] for size in sizes}
    for _ in range(rounds):
        for size, questionnaire, fields in cases:
            started = time.perf_counter()
            fill_once(app, questionnaire, fields)
            samples[size].append((time.perf_counter() - started) * 1000)
    results: dict[str, Any] = {str(size): {"ms": round(statistics.median(samples[size]), 2), "runs": rounds} for size in sizes}
    ms = {size: statistics.median(samples[size]) for size in sizes}
    if 100 in ms and 1000 in ms:
        results["ratio_100_to_1000"] = round(ms[1000] / ms[100], 1)
    if 1000 in ms and 5000 in ms:
        results["ratio_1000_to_5000"] = round(ms[5000] / ms[1000], 1)
    return results
