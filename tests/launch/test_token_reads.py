"""A launch reads its stored record once per request: every FHIR call of a page reuses that token."""
from __future__ import annotations

from smart_app.context import LaunchContext
from smart_app.launch.records import LAUNCH, read_launch
from smart_app.launch.runtime import EXTENSION
from smart_app.launch.session import Launch
from tests.fixtures.fake_ehr import token_response

SHORT = 30  # seconds: inside the refresh window


def _count_record_reads(monkeypatch, store) -> list[str]:
    """Record the namespace of every store read from now on."""
    reads: list[str] = []
    original = store.get

    def counting(namespace, key):
        reads.append(namespace)
        return original(namespace, key)

    monkeypatch.setattr(store, "get", counting)
    return reads


def test_a_page_s_fhir_calls_reuse_the_record_the_request_already_read(app, launcher, monkeypatch):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", access_token="at-1", expires_in=3600))
    rt = app.extensions[EXTENSION]
    record = read_launch(rt.store, handle)
    reads = _count_record_reads(monkeypatch, rt.store)
    launch = Launch(rt, handle, LaunchContext.from_record(record["context"]), None, record=record)
    assert [launch.access_token() for _ in range(5)] == ["at-1"] * 5
    assert LAUNCH not in reads


def test_without_a_record_the_first_call_reads_it_and_later_calls_do_not(app, launcher, monkeypatch):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", access_token="at-1", expires_in=3600))
    rt = app.extensions[EXTENSION]
    record = read_launch(rt.store, handle)
    reads = _count_record_reads(monkeypatch, rt.store)
    launch = Launch(rt, handle, LaunchContext.from_record(record["context"]), None)
    assert [launch.access_token() for _ in range(3)] == ["at-1"] * 3
    assert reads.count(LAUNCH) == 1


def test_a_token_near_expiry_is_not_reused_but_refreshed(app, launcher, fake_ehr):
    handle, _ = launcher.ehr_launch(token=token_response(patient="p1", access_token="at-1", expires_in=SHORT,
                                                         refresh_token="rt-1"))
    rt = app.extensions[EXTENSION]
    record = read_launch(rt.store, handle)
    fake_ehr.serve_token_once(token_response(access_token="at-2", expires_in=3600))
    launch = Launch(rt, handle, LaunchContext.from_record(record["context"]), None, record=record)
    assert launch.access_token() == "at-2"
    assert launch.access_token() == "at-2"
