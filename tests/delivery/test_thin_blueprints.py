"""The blueprints hold no send-safety logic: the save/send sequence lives once, in smart_app.delivery."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

VIEWS = Path(__file__).resolve().parents[2] / "smart_app" / "web"
# The steps of the sequence; only smart_app.delivery may call them.
SEQUENCE = {
    ("drafts", "rescue"), ("drafts", "take_rescued"), ("drafts", "forget_rescued"), ("drafts", "continue_after"),
    ("drafts", "unresolved_submission"), ("drafts", "save"), ("drafts", "discard"), ("drafts", "forget_sent"),
    ("submission", "submit"), ("submission", "retry"), ("submission", "deliver_if_due"),
    ("submission", "unsent_other_answers"), ("submission", "SubmissionChanged"), ("submission", "SubmissionRefused"),
    # Opening a form: start a draft, restore a save a dead launch held back.
    ("drafts", "load_or_start"), ("drafts", "rescued"), ("delivery", "restore_rescued"),
}


def _calls(path: Path) -> set[tuple[str, str]]:
    """(module, attribute) pairs used in a file, like drafts.save."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found.add((node.value.id, node.attr))
    return found


@pytest.mark.parametrize("name", sorted(p.name for p in VIEWS.glob("*.py")))
def test_a_blueprint_calls_no_step_of_the_save_and_send_sequence(name):
    assert _calls(VIEWS / name) & SEQUENCE == set()


def test_the_checker_sees_a_step():
    assert ("drafts", "save") in _calls(Path(__file__).resolve().parents[2] / "smart_app" / "delivery" / "__init__.py")
