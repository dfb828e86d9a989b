"""The launch home page's tasks come from one explicit list (web/tasks.py), in its order, and nowhere else."""
from __future__ import annotations

import ast
from pathlib import Path

from smart_app.web import tasks
from smart_app.web.home import HOME_READS, SUMMARY, TASKS

PACKAGE = Path(tasks.__file__).resolve().parent.parent


def test_the_app_registers_exactly_the_listed_providers_in_order(make_app):
    app = make_app()
    assert tuple(app.extensions[TASKS]) == tasks.TASK_PROVIDERS
    assert tuple(app.extensions[HOME_READS]) == tasks.HOME_READS
    assert app.extensions[SUMMARY] is tasks.summary.summary_for


def test_no_other_module_registers_a_task_provider():
    callers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
                    "register_task_provider", "register_summary_provider", "register_home_reads"):
                callers.add(path.relative_to(PACKAGE).as_posix())
    assert callers == {"web/tasks.py"}
