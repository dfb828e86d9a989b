"""The docs name code that exists: every `smart_app.x.y` dotted name and every `dir/file.py` path in
docs/*.md and README.md resolves, and no module name the package layout retired (tools/relayout.py's
map) is still used, so a move or rename cannot leave the docs pointing at nothing."""
from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
DOTTED = re.compile(r"\bsmart_app(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
# A path with at least one folder: `launch/views.py`, `tests/fixtures/e2e.py`, `smart_app/ehr/reads.py`.
SLASHED = re.compile(r"(?<![\w/.-])((?:[A-Za-z_][\w-]*/)+[A-Za-z_]\w*\.py)\b")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
# Where a path written without its top folder lives: the package's own modules are named relative to smart_app/.
ROOTS = (ROOT, ROOT / "smart_app")

sys.path.insert(0, str(ROOT / "tools"))
from relayout import MAPPING  # noqa: E402


def _mentions(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """(doc name, mention) for every match of `pattern` in the docs."""
    return [(doc.name, match.group(match.lastindex or 0)) for doc in DOCS
            for match in pattern.finditer(doc.read_text(encoding="utf-8"))]


def _defines(path: Path, name: str) -> bool:
    """The module file defines (or imports) `name` at its top level, or declares it in a class body."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return True
    return False


def _resolves(dotted: str) -> bool:
    """The longest module prefix exists, and each name after it is defined in that module (one level deep)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:  # a name inside a module is not a submodule
            continue
        if spec is None or spec.origin is None:
            continue
        rest = parts[cut:]
        return not rest or _defines(Path(spec.origin), rest[0])
    return False


@pytest.mark.parametrize("doc,dotted", sorted(set(_mentions(DOTTED))))
def test_every_dotted_smart_app_name_in_the_docs_exists(doc, dotted):
    assert _resolves(dotted), f"{doc} names {dotted}, which does not exist"


@pytest.mark.parametrize("doc,path", sorted(set(_mentions(SLASHED))))
def test_every_file_path_in_the_docs_exists(doc, path):
    assert any((base / path).is_file() for base in ROOTS), f"{doc} names {path}, which does not exist"


def _is_module(name: str) -> bool:
    """`name` is a module or package (not a name inside one)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _retired_names() -> set[str]:
    """Old module names (their last part) that no module or package of the new layout has, e.g. `questionnaire_catalog`.

    Symbols that moved between modules keep their names, and a one-word name (`fhir`) is too common a word
    to tell apart from prose; both are left to the dotted-name check above.
    """
    current = {p.stem for p in (ROOT / "smart_app").rglob("*.py")} | \
        {p.name for p in (ROOT / "smart_app").rglob("*") if p.is_dir()}
    modules = {old for old, new in MAPPING.items() if _is_module(new)}
    return {old.rsplit(".", 1)[-1] for old in modules if "_" in old.rsplit(".", 1)[-1]} - current


def test_no_doc_uses_a_module_name_the_package_layout_retired():
    retired = _retired_names()
    assert {"questionnaire_catalog", "submission_rows"} <= retired  # the map still says what was retired
    stale = [(doc.name, span) for doc in DOCS for span in CODE_SPAN.findall(doc.read_text(encoding="utf-8"))
             if set(re.findall(r"[A-Za-z_]\w*", span)) & retired]
    assert stale == []
