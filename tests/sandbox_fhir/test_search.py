"""Search parameters, OR/AND, date prefixes, sorting, paging, includes and canonical URLs with `//`."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from tests.sandbox_fhir.conftest import QUESTIONNAIRE_URL, TODAY, auth, entries, ids

DOC = auth("clinician")


def search(client, url: str, token: str = "clinician") -> dict:
    """GET a search and return the Bundle, failing on any non-200."""
    response = client.get(url, headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    return body


def test_search_by_id_with_comma_or(client):
    assert sorted(ids(search(client, "/fhir/Patient?_id=pat-ana,pat-eli"))) == ["pat-ana", "pat-eli"]


@pytest.mark.parametrize("param", ["patient=pat-dev", "patient=Patient/pat-dev", "subject=Patient/pat-dev",
                                   "subject:Patient=pat-dev"])
def test_patient_and_subject_reference_forms(client, param):
    body = search(client, f"/fhir/Condition?{param}")
    assert sorted(ids(body)) == ["cond-dev-1", "cond-dev-2"]


def test_status_or_and_intent(client):
    active = search(client, "/fhir/MedicationRequest?patient=pat-ana&status=active&_count=50")
    both = search(client, "/fhir/MedicationRequest?patient=pat-ana&status=active,on-hold&_count=50")
    assert (active["total"], both["total"]) == (8, 9)
    plans = search(client, "/fhir/MedicationRequest?patient=pat-ana&intent=plan")
    assert all(r.get("reportedBoolean") for r in entries(plans)) and plans["total"] == 2


def test_code_with_and_without_system(client):
    with_system = search(client, "/fhir/Observation?code=http://loinc.org|85354-9&patient=pat-ana")
    bare = search(client, "/fhir/Observation?code=85354-9&patient=pat-ana")
    wrong_system = search(client, "/fhir/Observation?code=http://snomed.info/sct|85354-9&patient=pat-ana")
    assert with_system["total"] == bare["total"] == 3
    assert wrong_system["total"] == 0


def test_identifier_system_and_value(client):
    body = search(client, "/fhir/Patient?identifier=urn:oid:2.16.840.1.113883.19.5.99999.1|MRN-100004")
    assert ids(body) == ["pat-dev"]
    assert search(client, "/fhir/Patient?identifier=other|MRN-100004")["total"] == 0


def _day(offset: int) -> str:
    """A date offset from the seed's today."""
    from datetime import timedelta
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.mark.parametrize("query,expected", [
    (lambda: f"ge{_day(-200)}", 2),
    (lambda: f"gt{_day(-180)}", 1),
    (lambda: f"lt{_day(-180)}", 1),
    (lambda: f"le{_day(-180)}", 2),
    (lambda: _day(-30), 1),
    (lambda: f"eq{_day(-30)[:7]}", 1),
    (lambda: f"ge{_day(-400)}&date=le{_day(-100)}", 2),
])
def test_date_prefixes(client, query, expected):
    body = search(client, f"/fhir/Observation?patient=pat-ana&code=29463-7&date={query()}")
    assert body["total"] == expected


def test_encounter_period_and_authored_dates(client):
    visits = search(client, f"/fhir/Encounter?date=ge{_day(0)}&_count=50")
    assert sorted(ids(visits)) == sorted(f"enc-{p}-visit" for p in ("ana", "ben", "chloe", "dev", "eli", "fatima", "sam"))
    recent = search(client, f"/fhir/MedicationRequest?patient=pat-ana&authoredon=ge{_day(-61)}")
    assert sorted(ids(recent)) == ["mr-ana-5", "mr-ana-9"]


def test_sort_by_date_descending(client):
    body = search(client, "/fhir/Observation?patient=pat-dev&code=29463-7&_sort=-date")
    dates = [r["effectiveDateTime"] for r in entries(body)]
    assert dates == sorted(dates, reverse=True) and len(dates) == 3
    ascending = search(client, "/fhir/Observation?patient=pat-dev&code=29463-7&_sort=date")
    assert ids(ascending) == list(reversed(ids(body)))


def test_paging_follows_next_links_to_every_match(client):
    first = search(client, "/fhir/MedicationRequest?patient=pat-ana&_count=5", token="ana-all")
    assert first["total"] == 9 and len(ids(first)) == 5
    seen = ids(first)
    nxt = [link["url"] for link in first["link"] if link["relation"] == "next"]
    assert nxt, "a first page of 5 out of 9 must link to the next page"
    parts = urlsplit(nxt[0])
    second = search(client, f"{parts.path}?{parts.query}", token="ana-all")
    seen += ids(second)
    assert not [link for link in second["link"] if link["relation"] == "next"]
    assert any(link["relation"] == "previous" for link in second["link"])
    assert sorted(seen) == sorted(f"mr-ana-{n}" for n in range(1, 10))


def test_include_medication_adds_referenced_not_contained(client):
    body = search(client, "/fhir/MedicationRequest?patient=pat-ana&_include=MedicationRequest:medication&_count=50")
    assert sorted(ids(body, "include")) == ["med-atorvastatin", "med-metformin"]
    assert len(ids(body)) == 9


def test_include_subject_and_requester(client):
    body = search(client, "/fhir/MedicationRequest?_id=mr-ben-1&_include=MedicationRequest:subject"
                          "&_include=MedicationRequest:requester")
    assert sorted(ids(body, "include")) == ["pat-ben", "prac-lee"]


def test_revinclude_provenance_style(client):
    body = search(client, "/fhir/Patient?_id=pat-eli&_revinclude=RelatedPerson:patient")
    assert ids(body, "include") == ["rp-marta"]


def test_questionnaire_canonical_url_with_double_slash(client):
    encoded = search(client, f"/fhir/Questionnaire?url={quote(QUESTIONNAIRE_URL, safe='')}", token="ana-questionnaire")
    raw = search(client, f"/fhir/Questionnaire?url={QUESTIONNAIRE_URL}&version=2.0.0", token="ana-questionnaire")
    piped = search(client, f"/fhir/Questionnaire?url={quote(QUESTIONNAIRE_URL + '|2.0.0', safe='')}",
                   token="ana-questionnaire")
    assert ids(encoded) == ids(raw) == ids(piped) == ["phq-2"]
    assert search(client, "/fhir/Questionnaire?url=http://example.org/fhir/Questionnaire/phq-2")["total"] == 0
    assert search(client, f"/fhir/Questionnaire?url={QUESTIONNAIRE_URL}&version=9")["total"] == 0


def test_questionnaire_response_by_canonical_and_encounter(client):
    qr = {"resourceType": "QuestionnaireResponse", "status": "completed",
          "questionnaire": f"{QUESTIONNAIRE_URL}|2.0.0", "subject": {"reference": "Patient/pat-ana"},
          "encounter": {"reference": "Encounter/enc-ana-visit"}, "authored": f"{_day(0)}T10:00:00Z",
          "item": [{"linkId": "q1", "answer": [{"valueInteger": 1}]}]}
    assert client.post("/fhir/QuestionnaireResponse", json=qr, headers=auth("ana-all")).status_code == 201
    for query in (f"questionnaire={QUESTIONNAIRE_URL}", "encounter=Encounter/enc-ana-visit",
                  f"authored=ge{_day(0)}", "status=completed"):
        assert search(client, f"/fhir/QuestionnaireResponse?{query}", token="ana-all")["total"] == 1, query


def test_summary_count_returns_total_only(client):
    body = search(client, "/fhir/Observation?patient=pat-ana&_summary=count")
    assert body["total"] == 9 and "entry" not in body


def test_post_search_with_form_body(client):
    response = client.post("/fhir/Patient/_search", data={"_id": "pat-sam"}, headers=DOC)
    assert ids(response.get_json()) == ["pat-sam"]


@pytest.mark.parametrize("url", ["/fhir/Patient?shoe-size=9", "/fhir/Observation?date=yesterday",
                                 "/fhir/Observation?_count=many", "/fhir/Observation?_sort=colour",
                                 "/fhir/Observation?_include=Observation:code", "/fhir/Observation?code:fuzzy=x"])
def test_bad_search_parameters_are_400(client, url):
    response = client.get(url, headers=DOC)
    assert response.status_code == 400
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_lenient_handling_ignores_unknown_parameters(client):
    response = client.get("/fhir/Patient?shoe-size=9&_id=pat-ana", headers=auth("clinician", Prefer="handling=lenient"))
    assert ids(response.get_json()) == ["pat-ana"]


def test_unknown_resource_type_is_404(client):
    assert client.get("/fhir/Spaceship", headers=DOC).status_code == 404


def test_escaped_pipes_and_commas_in_token_values(client, store):
    store.create({"resourceType": "Patient", "id": "odd",
                  "identifier": [{"system": "urn:a|b", "value": "x,y\\z"}]})
    body = search(client, "/fhir/Patient?identifier=" + quote("urn:a\\|b|x\\,y\\\\z", safe=""))
    assert ids(body) == ["odd"]
    assert search(client, "/fhir/Patient?identifier=" + quote("urn:a|b|x,y", safe=""))["total"] == 0


def test_tag_search_as_used_by_conditional_creates(client, store):
    store.create({"resourceType": "Provenance", "id": "prov-tagged", "recorded": "2026-01-15T10:00:00Z",
                  "meta": {"tag": [{"system": "urn:previsit:submission", "code": "sub-9"}]},
                  "target": [{"reference": "Patient/pat-ana"}], "agent": [{"who": {"reference": "Patient/pat-ana"}}]})
    assert ids(search(client, "/fhir/Provenance?_tag=urn:previsit:submission|sub-9")) == ["prov-tagged"]
    assert search(client, "/fhir/Provenance?_tag=urn:previsit:submission|sub-8")["total"] == 0


def test_questionnaire_response_search_by_known_versions_newest_first_as_the_app_asks(client):
    """The app's canonical search (every url|version plus the bare url, escaped) and its sort, paged."""
    from urllib.parse import urlencode

    from smart_app.ehr import canonicals

    for n, version in enumerate(["1.0.0", "2.0.0", "3.0.0"]):
        qr = {"resourceType": "QuestionnaireResponse", "status": "completed",
              "questionnaire": f"{QUESTIONNAIRE_URL}|{version}", "subject": {"reference": "Patient/pat-ana"},
              "authored": f"{_day(0)}T1{n}:00:00Z", "item": [{"linkId": "q1", "answer": [{"valueInteger": 1}]}]}
        assert client.post("/fhir/QuestionnaireResponse", json=qr, headers=auth("ana-all")).status_code == 201
    known = canonicals.search_value(QUESTIONNAIRE_URL, ["2.0.0", "1.0.0"])
    query = urlencode([("questionnaire", known), ("status", "completed"), ("_sort", "-authored,-_lastUpdated"),
                       ("_count", "2")])
    first = search(client, f"/fhir/QuestionnaireResponse?{query}", token="ana-all")
    # The bare url matches any version here (a lenient server), so all three; newest first, two a page.
    assert first["total"] == 3
    assert [r["questionnaire"].rsplit("|", 1)[1] for r in entries(first)] == ["3.0.0", "2.0.0"]
    assert any(link["relation"] == "next" for link in first["link"])
    exact = urlencode([("questionnaire", f"{QUESTIONNAIRE_URL}|1.0.0")])
    assert search(client, f"/fhir/QuestionnaireResponse?{exact}", token="ana-all")["total"] == 1
