"""The SQLite store: versioning, history, transactions and safety under concurrent threads."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox.fhir.outcome import FhirError
from sandbox.fhir.store import FhirStore


@pytest.fixture
def empty(tmp_path) -> FhirStore:
    """An empty store."""
    s = FhirStore(tmp_path / "empty.db")
    yield s
    s.close()


def test_versions_and_history(empty):
    first = empty.create({"resourceType": "Patient", "id": "p", "gender": "male"})
    second = empty.update({"resourceType": "Patient", "id": "p", "gender": "female"}, if_match='W/"1"')
    assert (first["meta"]["versionId"], second["meta"]["versionId"]) == ("1", "2")
    assert empty.vread("Patient", "p", 1)["gender"] == "male"
    with pytest.raises(FhirError) as stale:
        empty.update({"resourceType": "Patient", "id": "p"}, if_match='W/"1"')
    assert stale.value.status == 412
    assert empty.delete("Patient", "p") and not empty.delete("Patient", "p")
    with pytest.raises(FhirError) as gone:
        empty.read("Patient", "p")
    assert gone.value.status == 410
    assert empty.create({"resourceType": "Patient", "id": "p"})["meta"]["versionId"] == "4"


def test_create_with_a_taken_id_is_409(empty):
    empty.create({"resourceType": "Patient", "id": "p"})
    with pytest.raises(FhirError) as taken:
        empty.create({"resourceType": "Patient", "id": "p"})
    assert taken.value.status == 409


def test_failed_transaction_rolls_back_everything(empty):
    with pytest.raises(FhirError):
        with empty.transaction():
            empty.create({"resourceType": "Patient", "id": "a"})
            empty.create({"resourceType": "Patient", "id": "a"})
    assert empty.all("Patient") == []


def test_concurrent_writers_lose_nothing(empty):
    def write(n: int) -> str:
        return empty.create({"resourceType": "Observation", "status": "final", "code": {"text": str(n)}})["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(write, range(200)))
    assert len(set(created)) == 200 and empty.count("Observation") == 200


def test_concurrent_updates_each_get_their_own_version(empty):
    empty.create({"resourceType": "Patient", "id": "p"})

    def bump(_: int) -> str:
        return empty.update({"resourceType": "Patient", "id": "p"})["meta"]["versionId"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = sorted(int(v) for v in pool.map(bump, range(50)))
    assert versions == list(range(2, 52))


def test_reset_empties_the_store(empty):
    empty.create({"resourceType": "Patient"})
    empty.reset()
    assert empty.types() == []
