"""docs/architecture.md's "Where to find it" index points at files and functions that exist."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "smart_app"


def _index_rows() -> list[str]:
    """The table rows of the index section."""
    text = DOC.read_text()
    section = text[text.index("## Where to find it"):]
    section = section[:section.index("\n## ", 1)]
    return [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]


def _references(row: str) -> list[tuple[str, str | None]]:
    """(file, function or None) for each `dir/file.py [name()]` the row's last cell names."""
    cell = row.rstrip(" |").rsplit("|", 1)[-1]
    found = []
    for match in re.finditer(r"`(?P<file>[a-z_]+(?:/[a-z_]+)*\.(?:py|json))`(?:\s+`(?P<name>[A-Za-z_]+)(?:\(\))?`)?", cell):
        found.append((match["file"], match["name"]))
    return found


def _defines(path: Path, name: str) -> bool:
    """Whether the module defines `name` at top level (function, class or assignment)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


def test_the_index_has_entries_for_each_kind_of_question():
    text = "\n".join(_index_rows())
    for heading in ("**Launch steps**", "**FHIR calls**", "**Form rules**", "**Delivery steps**"):
        assert heading in text


def test_every_file_and_function_the_index_names_exists():
    missing = []
    checked = 0
    for row in _index_rows():
        for file, name in _references(row):
            path = PACKAGE / file
            checked += 1
            if not path.is_file():
                missing.append(file)
            elif name and file.endswith(".py") and not _defines(path, name):
                missing.append(f"{file}: {name}")
    assert checked > 40 and missing == []


def test_the_reference_reader_understands_the_table_format():
    assert _references("| x | `launch/views.py` `launch()` (+ `ratelimit.py`) |") == [
        ("launch/views.py", "launch"), ("ratelimit.py", None)]
