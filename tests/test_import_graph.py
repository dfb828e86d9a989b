"""The package's module-level imports form no cycle, and dependencies point one way between packages.

The rule (docs/architecture.md, "The one-way dependency rule"): web -> (forms, medications, delivery) ->
ehr, store; launch sits beside them; audit sits below them all.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "smart_app"


def _module_name(path: Path) -> str:
    """smart_app/launch/views.py -> smart_app.launch.views (a package's __init__ is the package)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """smart_app modules imported at module level (not under TYPE_CHECKING, not inside functions)."""
    found: set[str] = set()
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            # `from package import sibling` inside the package reaches the sibling, not a cycle through __init__.
            if target and target != _module_name(path) and not _module_name(path).startswith(target + "."):
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    """Every smart_app module and what it imports."""
    paths = list(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) - {"smart_app"} for p in paths}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        """Depth-first search; a grey node met again closes a cycle."""
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


def test_the_checker_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_delivery_modules_import_one_way():
    graph = _graph()
    assert "smart_app.delivery.courier" not in graph["smart_app.delivery.submission"]
    assert "smart_app.delivery.courier" not in graph["smart_app.delivery.drafts"]


def _area(module: str) -> str:
    """The layer a module belongs to: its first package under smart_app, or the top-level module's name."""
    parts = module.split(".")
    return "app" if len(parts) == 1 else parts[1]


# Foundation modules: typed settings, context, error codes, wording, the browser id, the rate limiter,
# the reader's language and formats (i18n), translatable words for pure cores (text) and the instance
# folder's write-once files (instance_files).
# Any layer may use them; among themselves they use only settings and error codes.
FOUNDATION = {"config", "context", "errors", "wording", "browser", "ratelimit", "i18n", "text", "instance_files"}
# Which areas each area may import besides itself and the foundation. Anything not listed is refused.
_ABOVE_FOUNDATION: dict[str, set[str]] = {
    "app": {"web", "launch", "forms", "medications", "delivery", "safety", "ehr", "store", "database", "audit"},
    "cli": {"app", "web", "launch", "delivery", "ehr", "store", "database", "audit"},
    "web": {"launch", "forms", "assignments", "medications", "delivery", "safety", "ehr", "store", "database", "audit"},
    "delivery": {"launch", "forms", "assignments", "safety", "ehr", "store", "database", "audit"},
    "forms": {"launch", "assignments", "ehr", "audit"},
    # SDC Tasks (issue 10): a pure model and its reads; used by the catalog, the send path and the home page.
    # The clinician's asking (ordering) reads the launch's runtime settings, like forms and medications.
    "assignments": {"launch", "ehr", "audit"},
    "medications": {"launch", "ehr", "audit"},
    "safety": {"forms", "audit"},
    "launch": {"ehr", "store", "database", "audit"},
    "ehr": set(),
    "store": {"database"},
    "database": set(),
    "audit": set(),
}
ALLOWED: dict[str, set[str]] = {
    **{area: allowed | FOUNDATION for area, allowed in _ABOVE_FOUNDATION.items()},
    **{name: {"config", "errors"} - {name} for name in FOUNDATION},
}

# Known edges against the rule, each with why it is still there. The test below fails when one
# disappears, so this list only shrinks.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {
}


def _against_the_rule(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Every module-level import from one area into an area it may not import."""
    found = set()
    for module, imports in graph.items():
        area = _area(module)
        for imported in imports:
            target = _area(imported)
            if target != area and target not in ALLOWED.get(area, set()):
                found.add((module, imported))
    return found


def test_dependencies_point_one_way_between_packages():
    against = _against_the_rule(_graph())
    assert against - set(KNOWN_EXCEPTIONS) == set(), sorted(against - set(KNOWN_EXCEPTIONS))


def test_the_known_exceptions_still_exist():
    """A fixed exception is removed from the list, so the rule only gets stricter."""
    assert set(KNOWN_EXCEPTIONS) <= _against_the_rule(_graph())


def test_every_area_is_governed_by_the_rule():
    assert {_area(module) for module in _graph()} <= set(ALLOWED)


def test_the_rule_refuses_an_upward_import():
    assert _against_the_rule({"smart_app.ehr.client": {"smart_app.web.home"},
                              "smart_app.audit.events": {"smart_app.launch.session"},
                              "smart_app.forms.model": {"smart_app.web.questionnaires"},
                              "smart_app.web.home": {"smart_app.delivery.drafts"}}) == {
        ("smart_app.ehr.client", "smart_app.web.home"),
        ("smart_app.audit.events", "smart_app.launch.session"),
        ("smart_app.forms.model", "smart_app.web.questionnaires")}
