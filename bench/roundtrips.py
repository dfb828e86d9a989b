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
        results["send_to_receipt"] = _send_to_receipt(world, client, handle)
        token_requests = [r for r in launch["requests"] if r.endswith("/auth/token")]
        results["launch_to_home"]["token_requests"] = len(token_requests)
        return results
    finally:
        world.counter.delay = 0.0


def _send_to_receipt(world: World, client: Any, handle: str) -> dict[str, Any]:
    """Answer PHQ-9 and review it (not counted: the person is typing), then count sending until the receipt shows."""
    from bench.latency import post_forms

    page = client.get(f"/l/{handle}/questionnaires/phq-9")
    form = next(f for f in post_forms(page.get_data(as_text=True)) if f["action"].endswith("phq-9"))
    review = client.post(form["action"], data={**form["fields"], "action": "submit"}, follow_redirects=True)
    send = next((f for f in post_forms(review.get_data(as_text=True)) if f["action"].endswith("/send")), None)
    if send is None:
        raise RuntimeError(f"no send form on the review page ({review.status_code})")
    world.counter.reset()
    receipt = client.post(send["action"], data=send["fields"], follow_redirects=True)
    if receipt.status_code != 200:
        raise RuntimeError(f"the receipt answered {receipt.status_code}")
    return _count(world)
