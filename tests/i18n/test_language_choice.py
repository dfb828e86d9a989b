"""Which language a page speaks: the switch, then the patient's own language, then the browser, then English."""
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from smart_app import i18n
from tests.fixtures.fake_ehr import id_token, patient, token_response


def spanish_patient(patient_id: str) -> dict[str, Any]:
    """A Patient whose preferred language is Spanish (Mexico)."""
    resource = patient(patient_id)
    resource["communication"] = [
        {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}},
        {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-MX"}]}, "preferred": True},
    ]
    return resource


def patient_launch(launcher: Any, fake_ehr: Any, resource: dict[str, Any]) -> str:
    """A patient's own standalone-style launch (fhirUser is the Patient); returns the handle."""
    auth = launcher.authorize()
    token = token_response(patient=resource["id"])
    token["id_token"] = id_token(fake_ehr.key, iss=fake_ehr.base, aud=auth.params["client_id"],
                                 nonce=auth.params.get("nonce"), fhirUser=f"Patient/{resource['id']}")
    fake_ehr.serve_token_once(token)
    fake_ehr.serve_resource(resource)
    response = launcher.callback(auth.state)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].split("/")[2]


def page_language(client: FlaskClient, path: str, **headers: str) -> str:
    """The lang attribute of the page at path."""
    html = client.get(path, headers=headers).get_data(as_text=True)
    start = html.index('<html lang="') + len('<html lang="')
    return html[start:html.index('"', start)]


def test_without_any_signal_pages_are_english(client: FlaskClient) -> None:
    assert page_language(client, "/") == "en"


def test_the_browsers_accept_language_chooses_spanish(client: FlaskClient) -> None:
    assert page_language(client, "/", **{"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}) == "es"


def test_the_switch_is_remembered_for_this_browser_and_beats_the_browser_setting(client: FlaskClient) -> None:
    response = client.get("/language/es", query_string={"next": "/"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{i18n.LANGUAGE_COOKIE}=es;") and "HttpOnly" in cookie
    assert page_language(client, "/", **{"Accept-Language": "en"}) == "es"
    client.get("/language/en", query_string={"next": "/"})
    assert page_language(client, "/", **{"Accept-Language": "es"}) == "en"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_the_switch_only_returns_to_pages_of_this_app(client: FlaskClient, target: str) -> None:
    response = client.get("/language/es", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_an_unknown_language_is_not_remembered(client: FlaskClient) -> None:
    response = client.get("/language/xx", query_string={"next": "/"})
    assert "Set-Cookie" not in response.headers


def test_every_page_offers_the_switch_with_a_link_back_to_itself(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'class="language-switch"' in html
    assert 'href="/language/es?next=/"' in html and 'lang="es"' in html
    assert '<span aria-current="true" lang="en">English</span>' in html


def test_a_patients_preferred_language_speaks_on_their_launch(client: FlaskClient, launcher: Any, fake_ehr: Any) -> None:
    handle = patient_launch(launcher, fake_ehr, spanish_patient("p-es"))
    assert page_language(client, f"/l/{handle}/", **{"Accept-Language": "en"}) == "es"
    client.get("/language/en", query_string={"next": "/"})
    assert page_language(client, f"/l/{handle}/", **{"Accept-Language": "en"}) == "en"


def test_a_clinicians_launch_ignores_the_patients_language(client: FlaskClient, launcher: Any, fake_ehr: Any) -> None:
    fake_ehr.serve_resource(spanish_patient("p1"))
    handle, _ = launcher.ehr_launch("p1")  # fhirUser Practitioner/dr1
    assert page_language(client, f"/l/{handle}/", **{"Accept-Language": "en"}) == "en"


@pytest.mark.parametrize(("communication", "expected"), [
    ([], None),
    ([{"language": {"coding": [{"code": "es"}]}}], "es"),  # the only language, preferred or not
    ([{"language": {"coding": [{"code": "en"}]}}, {"language": {"coding": [{"code": "es"}]}}], None),  # none preferred
    ([{"language": {"coding": [{"code": "fr"}]}, "preferred": True}], None),  # not a language we speak
    ([{"language": {"coding": [{"code": "es-419"}]}, "preferred": True}], "es"),
])
def test_patient_language_reads_communication_preferred(communication: list, expected: str | None) -> None:
    assert i18n.patient_language({"resourceType": "Patient", "communication": communication}) == expected


def test_the_browsers_time_zone_is_used_when_valid(app: Flask) -> None:
    with app.test_request_context("/", headers={"Cookie": f"{i18n.ZONE_COOKIE}=America/Chicago"}):
        assert i18n.select_zone() == "America/Chicago"
    with app.test_request_context("/", headers={"Cookie": f"{i18n.ZONE_COOKIE}=../../etc/passwd"}):
        assert i18n.select_zone() == app.config["BABEL_DEFAULT_TIMEZONE"]


def test_the_deployment_zone_comes_from_the_registration(make_app: Any, fake_ehr: Any) -> None:
    from tests.fixtures.app import registration

    doc = registration(fake_ehr.base)
    doc["time_zone"] = "Europe/Madrid"
    app = make_app(doc)
    with app.test_request_context("/"):
        assert i18n.select_zone() == "Europe/Madrid"
        assert i18n.time("2026-12-03T10:43:00Z") == "11:43"


def test_a_deployment_zone_that_is_not_a_zone_name_stops_startup_naming_the_key() -> None:
    from smart_app.config import ConfigError

    with pytest.raises(ConfigError) as raised:
        i18n.deployment_zone({"time_zone": "Mars/Olympus"}, "launch.json")
    assert raised.value.key == "time_zone" and "Mars/Olympus" in str(raised.value)
    assert str(raised.value).startswith("launch.json: time_zone: ")


def test_a_patient_language_entry_without_a_concept_is_skipped() -> None:
    resource = {"resourceType": "Patient", "communication": [{"preferred": True}, {"language": {"coding": [{"code": "es"}]}}]}
    assert i18n.patient_language(resource) is None
    resource["communication"][0] = {"language": {"coding": [{"code": "es"}]}, "preferred": True}
    assert i18n.patient_language(resource) == "es"
