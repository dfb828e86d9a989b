"""Error pages (launch error codes, HTTP errors) speak the reader's language, with the code kept for support."""
from flask.testing import FlaskClient

SPANISH = {"Accept-Language": "es"}


def test_an_unknown_ehr_is_explained_in_spanish(client: FlaskClient) -> None:
    page = client.get("/launch", query_string={"iss": "https://unknown.example/fhir"}, headers=SPANISH)
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and '<html lang="es">' in html
    assert "Este expediente electrónico no está registrado en la aplicación" in html
    assert "Código de error: UNKNOWN_ISSUER" in html
    assert "not registered" not in html


def test_a_missing_page_is_explained_in_spanish(client: FlaskClient) -> None:
    html = client.get("/no-such-page", headers=SPANISH).get_data(as_text=True)
    assert "Esa página no existe" in html and "No hay ninguna página en esta dirección." in html
    assert "There is no page" not in html


def test_an_expired_launch_is_explained_in_the_chosen_language(client: FlaskClient) -> None:
    client.get("/language/es", query_string={"next": "/"})
    html = client.get("/l/" + "0" * 32 + "/").get_data(as_text=True)
    assert "Su sesión terminó" in html and "LAUNCH_EXPIRED" in html
