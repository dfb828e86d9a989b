"""Files the app writes are private (0600), logged URLs carry no OAuth secrets, and serve refuses weak keys."""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from smart_app.audit import events as audit
from smart_app.cli import main
from smart_app.web.security import RedactQuerySecrets, weak_key_problem


def test_every_file_under_instance_and_the_audit_log_are_private(e2e, tmp_path):
    log_path = Path(e2e.app.instance_path) / "audit.log"
    handler = audit.configure_log_file(log_path)
    try:
        handle = e2e.launcher.standalone()
        assert e2e.page(handle).status_code == 200
    finally:
        audit.logger.removeHandler(handler)
        handler.close()
    files = [p for p in Path(e2e.app.instance_path).rglob("*") if p.is_file()]
    assert log_path in files and len(files) > 2
    loose = {str(p.relative_to(e2e.app.instance_path)): oct(stat.S_IMODE(p.stat().st_mode))
             for p in files if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert loose == {}


def test_an_existing_world_readable_audit_log_is_made_private(tmp_path):
    path = tmp_path / "audit.log"
    path.write_text("")
    os.chmod(path, 0o644)
    handler = audit.configure_log_file(path)
    audit.logger.removeHandler(handler)
    handler.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["code", "state", "launch", "nonce", "code_challenge", "code_verifier"])
def test_oauth_values_are_redacted_from_logged_urls(name):
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"GET /x?a=1&%s=SECRETVALUE&b=2 HTTP/1.1" 200' % name, (), None)
    RedactQuerySecrets().filter(record)
    assert "SECRETVALUE" not in record.getMessage() and f"{name}=[redacted]" in record.getMessage()


@pytest.mark.parametrize("secret", ["changeme", "a" * 80, "correct horse battery staple"])
def test_weak_secret_keys_are_named_with_how_to_make_one(secret):
    problem = weak_key_problem(secret, None)
    assert problem and 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in problem


def test_generated_keys_are_strong_enough():
    import secrets

    from cryptography.fernet import Fernet

    assert weak_key_problem(secrets.token_urlsafe(48), Fernet.generate_key().decode()) is None
    assert weak_key_problem(None, "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=") is not None


def test_serve_refuses_a_short_secret_key(monkeypatch, capsys):
    monkeypatch.setenv("SMART_APP_SECRET_KEY", "changeme")
    monkeypatch.delenv("SMART_APP_STORE_KEY", raising=False)
    monkeypatch.delenv("SESSION_REDIS_URL", raising=False)
    assert main(["serve", "--port", "1"]) == 2
    assert "secrets.token_urlsafe(48)" in capsys.readouterr().err
