"""`smart-app serve` refuses to start where redirect_uris[0] or launch_uri cannot be served, and lists every mismatch."""
from __future__ import annotations

import secrets

import json

import pytest

from smart_app.audit import events as audit
from smart_app import cli
from smart_app.config import parse_settings, serving_mismatches
from tests.fixtures.app import registration


def _settings(redirect: str, launch: str | None):
    """Settings whose redirect and launch URLs are these."""
    doc = registration("https://ehr.example.org/fhir")
    doc["redirect_uris"], doc["launch_uri"] = [redirect], launch
    return parse_settings(doc)


@pytest.mark.parametrize("redirect, launch, host, port, problems", [
    ("http://localhost:8000/callback", "http://localhost:8000/launch", "localhost", 8000, 0),
    ("http://localhost:8000/smart/callback", "http://localhost:8000/app/launch", "localhost", 8000, 0),
    ("http://127.0.0.1:8000/callback", "http://localhost:8000/launch", "localhost", 8000, 0),  # both loopback
    ("http://app.example.org:8000/callback", None, "0.0.0.0", 8000, 0),  # a wildcard bind serves every name
    ("http://localhost:8000/callback", "http://localhost:8000/launch", "localhost", 8501, 2),
    ("http://app.example.org/callback", "http://localhost:8000/launch", "localhost", 8000, 2),  # host and port
    ("https://app.example.org/callback", "http://localhost:8000/launch", "localhost", 8000, 1),  # TLS needs a proxy
])
def test_serving_mismatches_name_each_url_that_cannot_reach_the_listener(redirect, launch, host, port, problems):
    found = serving_mismatches(_settings(redirect, launch), host, port)
    assert len(found) == problems, found


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """A registration at localhost:8000, and an instance folder of its own; the environment and audit log are restored after."""
    path = tmp_path / "launch.json"
    path.write_text(json.dumps(registration("https://ehr.example.org/fhir")))
    monkeypatch.setenv("SMART_APP_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SMART_APP_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("SMART_APP_AUDIT_LOG", str(tmp_path / "audit.log"))
    monkeypatch.setenv("SMART_APP_CONFIG", str(path))  # main() sets it; monkeypatch puts the old value back
    handlers = list(audit.logger.handlers)
    yield path
    for handler in set(audit.logger.handlers) - set(handlers):
        audit.logger.removeHandler(handler)
        handler.close()


def test_serve_refuses_to_start_on_another_port_and_lists_every_mismatch(config_file, monkeypatch, capsys):
    started = []
    monkeypatch.setattr(cli, "_run_gunicorn", lambda options, hops: started.append(options) or 0)
    status = cli.main(["serve", "--port", "8501", "--config", str(config_file)])
    err = capsys.readouterr().err
    assert status == 2 and started == []
    assert "redirect_uris[0] is http://localhost:8000/callback, but the app listens on port 8501" in err
    assert "launch_uri is http://localhost:8000/launch, but the app listens on port 8501" in err
    assert "--proxy-hops" in err


def test_serve_starts_when_a_proxy_says_it_rewrites_the_urls(config_file, monkeypatch, capsys):
    started = []
    monkeypatch.setattr(cli, "_run_gunicorn", lambda options, hops: started.append((options["bind"], hops)) or 0)
    assert cli.main(["serve", "--port", "8501", "--proxy-hops", "1", "--config", str(config_file)]) == 0
    assert started == [("localhost:8501", 1)]


def test_serve_starts_where_the_registration_points(config_file, monkeypatch):
    started = []
    monkeypatch.setattr(cli, "_run_gunicorn", lambda options, hops: started.append(options["bind"]) or 0)
    assert cli.main(["serve", "--config", str(config_file)]) == 0
    assert started == ["localhost:8000"]
