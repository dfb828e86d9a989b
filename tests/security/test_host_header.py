"""Only the registered host names are served: a forged Host gets 400 and is never reflected in a redirect."""
from __future__ import annotations


def test_a_forged_host_is_refused_and_not_reflected(client):
    response = client.get("/l/abc", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("Location", "")


def test_the_registered_host_is_served(client):
    response = client.get("/.well-known/jwks.json", headers={"Host": "localhost:8000"})
    assert response.status_code == 200


def test_a_forged_host_on_a_strict_slash_redirect_gets_400_not_a_308(client):
    handle = "a" * 32
    assert client.get(f"/l/{handle}", headers={"Host": "localhost"}).status_code == 308
    response = client.get(f"/l/{handle}", headers={"Host": "evil.example"})
    assert response.status_code == 400 and "Location" not in response.headers


def test_probes_answer_on_any_host(client):
    assert client.get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code == 200


def test_a_forwarded_host_is_checked_too(app):
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    response = app.test_client().get("/launch", headers={"X-Forwarded-Host": "evil.example"})
    assert response.status_code == 400


def test_extra_hosts_come_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("SMART_APP_TRUSTED_HOSTS", "previsit.example.org, 10.0.0.7")
    app = make_app()
    assert {"localhost", "previsit.example.org", "10.0.0.7"} <= set(app.config["APP_HOSTS"])
    assert app.test_client().get("/.well-known/jwks.json", headers={"Host": "previsit.example.org"}).status_code == 200
