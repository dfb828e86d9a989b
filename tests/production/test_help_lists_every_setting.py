"""`serve --help` and `sandbox --help` list every setting with its environment variable and default, grouped."""
from __future__ import annotations

import pytest

from smart_app.cli import main

GROUPS = ("network:", "security:", "storage:", "delivery:")
EVERYWHERE = ("SMART_APP_SECRET_KEY", "SMART_APP_STORE_KEY", "SESSION_REDIS_URL", "SMART_APP_DATABASE_URL",
              "SMART_APP_INSTANCE", "SMART_APP_CONFIG", "SMART_APP_AUDIT_LOG", "SMART_APP_COURIER_INTERVAL",
              "client_secret_env", "SMART_APP_CLIENT_RS384_KEY_FILE", "SMART_APP_CLIENT_ES384_KEY",
              "SMART_APP_CLIENT_PUBLISHED_KEYS")


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The help text of a subcommand."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command, own", [
    ("serve", ("--host HOST interface to listen on (default localhost", "--port PORT port to listen on (default 8000)",
               "SMART_APP_WORKERS", "SMART_APP_THREADS", "SMART_APP_PROXY_HOPS")),
    ("sandbox", ("--host HOST the app's host (default localhost)", "--port PORT the app's port (default 8000)",
                 "--sandbox-port SANDBOX_PORT the sandbox EHR's port (default 9090)")),
])
def test_help_groups_every_setting_with_its_environment_variable_and_default(command, own, capsys):
    text = _help(command, capsys)
    positions = [text.index(group) for group in GROUPS]
    assert positions == sorted(positions)
    for needle in EVERYWHERE + own:
        assert needle in text, needle
