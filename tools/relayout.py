"""Rewrite references to smart_app modules from the old flat layout to the package layout (issue 16).

Usage: python tools/relayout.py FILE... (rewrites in place, prints the files it changed)
       python tools/relayout.py --check FILE...  (changes nothing; exit 1 if a file would change)
       python tools/relayout.py --map             (prints the mapping)

What it rewrites, in any text file (.py, .md, .toml, .html, .cfg, .ini, .txt):
- `import smart_app.old.x [as y]` and `from smart_app.old[.x] import a, b`;
- `from smart_app import old_a, old_b, other` is split so that each moved module keeps its local
  name (`from smart_app.ehr import client as fhir`), and names that did not move stay put;
- dotted module paths anywhere else in the text, e.g. mock.patch("smart_app.fhir.requests") or
  monkeypatch.setattr("smart_app.pools.submit_read", ...), and file paths such as
  "smart_app/fhir.py" or "smart_app/questionnaires/library".

It is idempotent: a path that already names a new module (or something inside one) is left alone,
so running it again, or on a file that already uses the new layout, changes nothing.
The mapping only grows; an entry, once published, keeps its target.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

# Old module (or package) -> new module (or package). Packages map every module below them.
MAPPING: dict[str, str] = {
    # ehr/: the only code that talks to a FHIR server
    "smart_app.fhir": "smart_app.ehr.client",
    "smart_app.ehr_http": "smart_app.ehr.http",
    "smart_app.origins": "smart_app.ehr.origins",
    "smart_app.pools": "smart_app.ehr.pools",
    "smart_app.fhirjson": "smart_app.ehr.fhirjson",
    "smart_app.canonicals": "smart_app.ehr.canonicals",
    # forms/: the SDC engine and the catalog of what to offer (its I/O half reads through ehr/)
    "smart_app.questionnaires": "smart_app.forms",
    "smart_app.questionnaire_catalog": "smart_app.forms.catalog",
    "smart_app.questionnaire_queries": "smart_app.forms.queries",
    "smart_app.terminology": "smart_app.forms.terminology",
    # delivery/: the one path for answers (smart_app.delivery itself keeps its name)
    "smart_app.drafts": "smart_app.delivery.drafts",
    "smart_app.submission": "smart_app.delivery.submission",
    "smart_app.submission_rows": "smart_app.delivery.rows",
    "smart_app.outbox": "smart_app.delivery.outbox",
    "smart_app.courier": "smart_app.delivery.courier",
    "smart_app.writeback": "smart_app.delivery.writeback",
    "smart_app.retention": "smart_app.delivery.retention",
    # medications/: pure core + its one read wave
    "smart_app.medication_reads": "smart_app.medications.reads",
    # web/: thin blueprints, security headers/CSRF, health, error pages, proxy trust
    "smart_app.views": "smart_app.web",
    "smart_app.security": "smart_app.web.security",
    "smart_app.health": "smart_app.web.health",
    "smart_app.proxy": "smart_app.web.proxy",
    # audit/: events (emit, correlation) and the story renderer of `smart-app audit`
    "smart_app.audit": "smart_app.audit.events",
    # symbols that moved between modules (from-imports of these names are rewritten too)
    "smart_app.fhir.link_id_for_expression": "smart_app.forms.field_errors.link_id_for_expression",
    "smart_app.submission.field_errors": "smart_app.forms.field_errors.field_errors",
    "smart_app.submission.general_messages": "smart_app.forms.field_errors.general_messages",
}

# Modules created by the move that no old path names; a path under one of these is already new.
NEW_ONLY: tuple[str, ...] = ("smart_app.audit.story",)

_DOTTED = re.compile(r"\bsmart_app(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?![\w.])(?![ \t]+import\b)")
_SLASHED = re.compile(r"\bsmart_app(?:/[A-Za-z_][A-Za-z0-9_]*)+(?:\.py)?")
_FROM = re.compile(r"^(?P<indent>[ \t]*)from (?P<module>smart_app(?:\.[A-Za-z_][A-Za-z0-9_]*)*) import "
                   r"(?P<names>\([^)]*\)|[^\n#]*?)(?P<comment>[ \t]*#[^\n]*)?$", re.MULTILINE)


def _under(name: str, prefix: str) -> bool:
    """Whether dotted `name` is `prefix` or something inside it."""
    return name == prefix or name.startswith(prefix + ".")


def new_name(name: str) -> str:
    """The new dotted path for `name` (a module, or an attribute inside one); unchanged when it did not move."""
    if any(_under(name, new) for new in (*MAPPING.values(), *NEW_ONLY)):
        return name
    best = max((old for old in MAPPING if _under(name, old)), key=len, default=None)
    if best is None:
        return name
    return MAPPING[best] + name[len(best):]


def _rewrite_from(match: re.Match[str]) -> str:
    """`from smart_app[.x] import a, b as c`: each name goes where its module went.

    When every name lands in the same new module under its own name, only the module is replaced
    (the line keeps its shape); otherwise the line is split, one per new module, keeping local names
    (`from smart_app import fhir` -> `from smart_app.ehr import client as fhir`).
    """
    indent, module, names, comment = match["indent"], match["module"], match["names"], match["comment"] or ""
    parts = [part.strip() for part in names.strip().strip("()").replace("\n", " ").split(",") if part.strip()]
    groups: dict[str, list[str]] = {}
    for part in parts:
        name, _, alias = (piece.strip() for piece in part.partition(" as "))
        parent, _, leaf = new_name(f"{module}.{name}").rpartition(".")
        local = alias or name
        groups.setdefault(parent, []).append(leaf if leaf == local else f"{leaf} as {local}")
    if list(groups) == [module]:
        return match.group(0)
    if len(groups) == 1 and groups[next(iter(groups))] == [p.replace("  ", " ") for p in parts]:
        return f"{indent}from {next(iter(groups))} import {names}{comment}"
    lines = [f"from {parent} import {', '.join(leaves)}" for parent, leaves in groups.items()]
    return "\n".join(indent + line for line in lines) + comment


def _rewrite_slashed(match: re.Match[str]) -> str:
    """smart_app/fhir.py -> smart_app/ehr/client.py; smart_app/questionnaires/library -> smart_app/forms/library."""
    text = match.group(0)
    is_file = text.endswith(".py")
    dotted = (text[:-3] if is_file else text).replace("/", ".")
    target = new_name(dotted)
    if target == dotted:
        return text
    return target.replace(".", "/") + (".py" if is_file else "")


def _rewrite_path_parts(text: str) -> str:
    """Path(...) / "smart_app" / "questionnaires" / "library" style joins."""
    def one(match: re.Match[str]) -> str:
        quote = match["q"]
        parts = re.findall(r"[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']", match.group(0))
        target = new_name(".".join(parts))
        if target == ".".join(parts):
            return match.group(0)
        return " / ".join(f"{quote}{part}{quote}" for part in target.split("."))
    return re.sub(r"(?P<q>[\"'])smart_app(?P=q)(?:\s*/\s*[\"'][A-Za-z_][A-Za-z0-9_]*[\"'])+", one, text)


def rewrite(text: str) -> str:
    """The text with every old module reference replaced by its new one."""
    text = _FROM.sub(_rewrite_from, text)
    text = _DOTTED.sub(lambda m: new_name(m.group(0)), text)
    text = _SLASHED.sub(_rewrite_slashed, text)
    return _rewrite_path_parts(text)


def main(argv: list[str]) -> int:
    """Rewrite the files named on the command line; --check only reports."""
    if argv[:1] == ["--map"]:
        for old, new in MAPPING.items():
            print(f"{old} -> {new}")
        return 0
    check = argv[:1] == ["--check"]
    changed = 0
    for name in argv[1:] if check else argv:
        path = Path(name)
        if not path.is_file():
            continue
        try:
            before = path.read_text()
        except UnicodeDecodeError:
            continue
        after = rewrite(before)
        if after != before:
            changed += 1
            print(name)
            if not check:
                path.write_text(after)
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
