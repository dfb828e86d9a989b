"""A plain-language summary of the answers, for the review-before-sending page."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .answers import Answer
from .engine import FormView, ItemView


@dataclass(frozen=True)
class SummaryRow:
    """One line of the review: a section heading (no answers) or a question with its answers."""

    label: str
    answers: tuple[str, ...]
    depth: int
    is_section: bool = False


def answer_text(answer: Answer) -> str:
    """An answer as people read it (never raw JSON)."""
    suffix, value = answer
    if suffix == "Boolean":
        return "Yes" if value else "No"
    if suffix == "Coding":
        return str(value.get("display") or value.get("code") or "")
    if suffix == "Quantity":
        number = _number(value.get("value"))
        unit = value.get("unit") or value.get("code") or ""
        return f"{number} {unit}".strip()
    if suffix == "Decimal":
        return _number(value)
    if suffix == "Attachment":
        return f"File: {value.get('title') or 'attachment'}"
    if suffix == "Reference":
        return str(value.get("display") or value.get("reference") or "")
    return str(value)


def _number(value: Any) -> str:
    """Decimal digits exactly as typed (no exponent)."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _label(node: ItemView) -> str:
    """Prefix and text of an item."""
    item = node.item
    return " ".join(p for p in (item.prefix, item.text) if p) or item.link_id


def summarize(view: FormView) -> list[SummaryRow]:
    """Rows for every enabled, answered question, under headings for the sections that hold them."""
    rows: list[SummaryRow] = []
    # Work items: ("node", ItemView, depth) or ("heading", label, depth); iterative, document order.
    stack: list[tuple[str, Any, int]] = [("node", node, 0) for node in reversed(view.items)]
    while stack:
        kind, entry, depth = stack.pop()
        if kind == "heading":
            rows.append(SummaryRow(entry, (), depth, True))
            continue
        node: ItemView = entry
        item = node.item
        if not node.enabled or item.type == "display":
            continue
        if item.type == "group":
            for instance in reversed(node.instances):
                stack.extend(("node", child, depth + 1) for child in reversed(instance.children))
                suffix = f" ({instance.index + 1})" if item.repeats else ""
                stack.append(("heading", _label(node) + suffix, depth))
            continue
        if node.answers:
            rows.append(SummaryRow(_label(node), tuple(answer_text(a) for a in node.answers), depth))
        stack.extend(("node", child, depth + 1) for child in reversed(node.children))
    return _drop_empty_sections(rows)


def _drop_empty_sections(rows: list[SummaryRow]) -> list[SummaryRow]:
    """Remove headings with no answered question beneath them (one pass, open-heading stack)."""
    used = [not row.is_section for row in rows]
    open_headings: list[int] = []
    for index, row in enumerate(rows):
        while open_headings and rows[open_headings[-1]].depth >= row.depth:
            open_headings.pop()
        if row.is_section:
            open_headings.append(index)
        else:
            for heading in open_headings:
                used[heading] = True
    return [row for row, keep in zip(rows, used) if keep]
