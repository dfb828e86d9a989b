"""(h) The CPU the R4 check of every write costs, per send, against serialising the same bundle.

Each send is checked once (smart_app.ehr.validation) and serialised once (fhirjson.dumps), so the
serialisation is the floor the check is compared with. CPU time of this thread, median of rounds.
"""
from __future__ import annotations

import statistics
import time
from decimal import Decimal
from functools import partial
from typing import Any, Callable

from smart_app.ehr import fhirjson
from smart_app.ehr.validation import problems
from smart_app.safety.flags import RULE_SYSTEM
from smart_app.delivery.writeback import build_submission_bundle

SYSTEM = "https://smart-previsit.example.org/fhir/submission"
_VALUES: tuple[dict[str, Any], ...] = (
    {"valueCoding": {"system": "http://loinc.org", "code": "LA6568-5", "display": "Not at all"}},
    {"valueInteger": 3},
    {"valueDecimal": Decimal("70.50")},
    {"valueString": "Some words a person typed"},
    {"valueDate": "2026-03-01"},
    {"valueBoolean": True},
)


def submission_bundle(items: int) -> dict[str, Any]:
    """A transaction as the app sends it: a response of `items` answers, two Observations, a Flag, Provenance."""
    qr = {"resourceType": "QuestionnaireResponse", "status": "completed",
          "questionnaire": "http://smart-previsit.example.org/fhir/Questionnaire/bench|1", "authored": "2026-03-01T09:30:00Z",
          "item": [{"linkId": f"q{i}", "text": f"Question {i}", "answer": [_VALUES[i % len(_VALUES)]]} for i in range(items)]}
    observations = [{"resourceType": "Observation", "status": "final",
                     "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                     "valueQuantity": {"value": value}} for code, value in (("44261-6", 12), ("29463-7", Decimal("70.50")))]
    flag = {"resourceType": "Flag", "status": "active", "period": {"start": "2026-03-01T09:30:00Z"},
            "code": {"coding": [{"system": RULE_SYSTEM, "code": "phq9-item9-self-harm"}], "text": "Self-harm"}}
    device = {"resourceType": "Device", "deviceName": [{"name": "SMART Pre-Visit", "type": "user-friendly-name"}]}
    return build_submission_bundle(questionnaire_response=qr, observations=observations, submission_id="bench-1",
                                   identifier_system=SYSTEM, patient_ref="Patient/p1", encounter_ref="Encounter/e1",
                                   author_ref="Patient/p1", app_device=device, recorded="2026-03-01T09:30:00Z", flags=[flag])


def _cpu_ms(call: Callable[[], Any], rounds: int) -> float:
    """Median CPU milliseconds of one call (this thread's CPU clock, not the wall)."""
    spent = []
    for _ in range(rounds):
        started = time.thread_time()
        call()
        spent.append(time.thread_time() - started)
    return round(statistics.median(spent) * 1000, 3)


def measure_validation(rounds: int = 200) -> dict[str, Any]:
    """Check and serialisation CPU per send for a PHQ-9-sized and a 187-item response."""
    out: dict[str, Any] = {}
    for name, items in (("phq9", 10), ("form187", 187)):
        bundle = submission_bundle(items)
        if problems(bundle):
            raise AssertionError(f"the bench bundle is not valid R4: {problems(bundle)}")
        check, dumps = _cpu_ms(partial(problems, bundle), rounds), _cpu_ms(partial(fhirjson.dumps, bundle), rounds)
        out[name] = {"items": items, "check_cpu_ms": check, "serialise_cpu_ms": dumps,
                     "ratio": round(check / dumps, 1) if dumps else None, "bytes": len(fhirjson.dumps(bundle))}
    return out


if __name__ == "__main__":
    print(measure_validation())
