"""Shared pytest setup: each area keeps its fixtures in tests/fixtures/<area>.py."""
import importlib.util

pytest_plugins = [
    name
    for name in (
        "tests.fixtures.app",
        "tests.fixtures.fake_ehr",
        "tests.fixtures.sandbox",
        "tests.fixtures.e2e",
        "tests.fixtures.redis",
        "tests.fixtures.postgres",
        "tests.fixtures.database",
        "tests.fixtures.store",
        "tests.fixtures.browser",
        "tests.fixtures.smart_launcher",
    )
    if importlib.util.find_spec(name) is not None
]
