"""Without `batch`, a plan's reads are parallel GETs on the one read pool, never more at once than the pool holds."""
from __future__ import annotations

import threading

import pytest

from smart_app.ehr import reads
from smart_app.ehr.reads import Read, ReadPlan, run
from tests.fhir.conftest import fhir_response
from tests.fhir.read_plans import capability, patient
from tests.fixtures.overlap import PATIENCE, Rendezvous


@pytest.fixture
def small_pool(monkeypatch):
    """A read pool of 3 threads for this test (a fresh one before and after)."""
    monkeypatch.setattr(reads, "POOL_THREADS", 3)
    reads._forget_pool()
    yield 3
    reads._forget_pool()


def test_reads_go_out_together_as_gets_when_the_server_has_no_batch(fhir_server, make_client):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability(batch=False)))
    together = Rendezvous(3)
    for pid in ("a", "b", "c"):
        fhir_server.expect_request(f"/fhir/Patient/{pid}").respond_with_handler(
            together.handler(lambda request: fhir_response(patient(request.path.rsplit("/", 1)[1]))))
    client = make_client()
    client.capabilities()
    fhir_server.clear_log()

    found = run(client, ReadPlan(tuple(Read.resource(pid, "Patient", pid) for pid in ("a", "b", "c"))))

    assert [found[pid]["id"] for pid in ("a", "b", "c")] == ["a", "b", "c"]
    assert (together.met, together.missed) == (3, 0)  # one after another they could never all meet
    assert all(request.method == "GET" for request, _ in fhir_server.log)


def test_the_first_plan_learns_the_capability_in_the_same_wave(fhir_server, make_client):
    """Nothing known yet: GETs, and /metadata beside them (not before them), so the next plan can batch."""
    together = Rendezvous(3)
    fhir_server.expect_request("/fhir/metadata").respond_with_handler(
        together.handler(lambda request: fhir_response(capability(batch=True))))
    for pid in ("a", "b"):
        fhir_server.expect_request(f"/fhir/Patient/{pid}").respond_with_handler(
            together.handler(lambda request: fhir_response(patient(request.path.rsplit("/", 1)[1]))))
    client = make_client()

    run(client, ReadPlan((Read.resource("a", "Patient", "a"), Read.resource("b", "Patient", "b"))))

    assert (together.met, together.missed) == (3, 0)
    assert client.known_capabilities() is not None


def test_no_more_reads_are_in_flight_than_the_pool_has_threads(fhir_server, make_client, small_pool):
    fhir_server.expect_request("/fhir/metadata").respond_with_response(fhir_response(capability(batch=False)))
    lock, in_flight, most = threading.Lock(), [0], [0]
    groups = threading.Barrier(small_pool, timeout=PATIENCE)  # the pool's threads meet in full groups

    def held(request):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        groups.wait()
        with lock:
            in_flight[0] -= 1
        return fhir_response(patient(request.path.rsplit("/", 1)[1]))

    ids = [f"p{n}" for n in range(2 * small_pool)]
    for pid in ids:
        fhir_server.expect_request(f"/fhir/Patient/{pid}").respond_with_handler(held)
    client = make_client()
    client.capabilities()

    found = run(client, ReadPlan(tuple(Read.resource(pid, "Patient", pid) for pid in ids)))

    assert [found[pid]["id"] for pid in ids] == ids
    assert most[0] == small_pool  # a full pool at once, and never more


def test_a_plan_cannot_be_run_from_a_read_pool_thread(make_client):
    """A pool thread waiting on the pool could deadlock it: refused, not just documented."""
    client = make_client()
    future = reads.submit_probe(lambda: run(client, ReadPlan.of(Read.resource("a", "Patient", "a"))))
    with pytest.raises(RuntimeError, match="read pool thread"):
        future.result()
