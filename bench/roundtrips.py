"""(a) Upstream round trips counted at the sandbox: launch to home page, home to questionnaire, home to medications."""
from __future__ import annotations

from typing import Any

from bench.harness import World, browser_session, launch_in_process, serial_depth

DELAY = 0.03  # each upstream request takes at least this long, so parallel requests visibly overlap

PATIENT = "pat-ana"
CLINICIAN = "Practitioner/prac-lee"


def _count(world: World) -> dict[str, Any]:
    """Total, serial depth and the request lines recorded since the last reset."""
    exchanges = world.counter.upstream()
    return {"total": len(exchanges), "depth": serial_depth(exchanges),
            "requests": [f"{e.method} {e.path}" for e in sorted(exchanges, key=lambda e: e.start)]}


def measure_round_trips(world: World, app: Any) -> dict[str, Any]:
    """Count the app's requests to the EHR for each step, with discovery and the EHR's keys already cached."""
    browser = browser_session()
    client = app.test_client()
    launch_in_process(client, world, world.new_launch(patient=PATIENT, practitioner=CLINICIAN), browser)  # warm caches
    world.counter.delay = DELAY
    try:
        client = app.test_client()  # a new browser: nothing cached on the browser side
        world.counter.reset()
        handle, home = launch_in_process(client, world, world.new_launch(patient=PATIENT, practitioner=CLINICIAN), browser)
        if home.status_code != 200:
            raise RuntimeError(f"home page answered {home.status_code}")
        launch = _count(world)
        results = {"launch_to_home": launch}
        for name, path in (("home_to_questionnaire", "questionnaires/phq-9"), ("home_to_intake", "questionnaires/previsit-intake"),
                           ("home_to_medications", "medications/")):
            world.counter.reset()
            response = client.get(f"/l/{handle}/{path}")
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
            results[name] = _count(world)
        token_requests = [r for r in launch["requests"] if r.endswith("/auth/token")]
        results["launch_to_home"]["token_requests"] = len(token_requests)
        return results
    finally:
        world.counter.delay = 0.0
