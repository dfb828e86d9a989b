"""What a form page shows that answers can change, and the difference between two such pictures.

The evaluate endpoint (views/questionnaires.py) runs the one engine (engine.evaluate) on the
answers a browser posts while the person types, and sends back only what changed since the page's
last picture: items shown or hidden, calculated values, the score line, and the messages of the
fields the person has left. The browser script applies those changes and decides nothing itself.

The picture (`Baseline`) travels with the page as an opaque JSON string; a browser that sends a
wrong one only gets a longer answer back (every difference is re-sent), never other data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from .engine import FormView, ItemView

MAX_BASELINE_CHARS = 200_000  # a posted picture longer than this is ignored (the full picture is sent)


@dataclass(frozen=True)
class Baseline:
    """What the page shows: hidden containers, calculated values (by output id), the score line."""

    hidden: frozenset[str] = frozenset()
    values: dict[str, str] = field(default_factory=dict)
    score: str = ""

    def encode(self) -> str:
        """The picture as the compact JSON string the page carries."""
        return json.dumps({"h": sorted(self.hidden), "v": self.values, "s": self.score},
                          separators=(",", ":"), sort_keys=True)

    @classmethod
    def decode(cls, text: str | None) -> "Baseline | None":
        """Parse a posted picture; None when absent, too long or malformed (then everything is re-sent)."""
        if not text or len(text) > MAX_BASELINE_CHARS:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        hidden, values, score = data.get("h"), data.get("v"), data.get("s")
        if not (isinstance(hidden, list) and all(isinstance(h, str) for h in hidden)
                and isinstance(values, dict) and all(isinstance(v, str) for v in values.values())
                and isinstance(score, str)):
            return None
        return cls(frozenset(hidden), {str(k): v for k, v in values.items()}, score)


@dataclass(frozen=True)
class Changes:
    """What the page must change to match a new evaluation."""

    show: list[str]  # container ids to show
    hide: list[str]  # container ids to hide
    values: dict[str, str]  # output id -> new calculated text
    score: str | None  # the new score line ("" removes it), None when unchanged
    errors: dict[str, list[str]]  # control id -> messages (empty list clears them), touched fields only
    announce: list[str]  # labels of questions that just appeared, for the live region
    baseline: Baseline

    def to_json(self) -> dict[str, Any]:
        """The endpoint's JSON body."""
        return {"show": self.show, "hide": self.hide, "values": self.values, "score": self.score,
                "errors": self.errors, "announce": self.announce, "baseline": self.baseline.encode()}


def container_id(node: ItemView) -> str:
    """The id of the element that is shown or hidden for this instance (as _item.html renders it)."""
    return node.id if node.item.type in ("display", "group") else node.id + "-item"


def _shown_on_page(node: ItemView) -> bool:
    """Items the page renders a container for (questionnaire-hidden items are hidden inputs only)."""
    return not node.item.hidden


def picture(view: FormView, score_text: str) -> Baseline:
    """The Baseline of an evaluated form: `score_text` is the rendered score line ("" for none); a
    calculated item without a value is "" (the page shows its own words for that)."""
    nodes = [n for n in view.nodes if _shown_on_page(n)]
    hidden = frozenset(container_id(n) for n in nodes if not n.enabled)
    values = {n.id: ", ".join(str(r) for r in n.raw) for n in nodes if n.calculated}
    return Baseline(hidden, values, score_text)


def _label(node: ItemView) -> str:
    """The words a person knows a question by (prefix and text)."""
    return " ".join(p for p in (node.item.prefix, node.item.text) if p) or ""


def changes(view: FormView, before: Baseline | None, now: Baseline, touched: Iterable[str]) -> Changes:
    """The difference between what the page shows (`before`; None: unknown) and `now`, plus the
    messages of the touched fields (by field name) that are shown."""
    unknown = before is None
    before = before or Baseline()
    nodes = [n for n in view.nodes if _shown_on_page(n)]
    show = [container_id(n) for n in nodes if n.enabled and (unknown or container_id(n) in before.hidden)]
    hide = [container_id(n) for n in nodes if not n.enabled and (unknown or container_id(n) not in before.hidden)]
    appeared = set(show) if not unknown else set()
    announce = [label for n in nodes if container_id(n) in appeared and n.item.type != "group"
                and (label := _label(n)) and not _inside_shown_group(n, appeared)]
    values = {k: v for k, v in now.values.items() if unknown or before.values.get(k) != v}
    score = now.score if unknown or before.score != now.score else None
    # Feet and inches (f., i.) are parts of their height question's answer (feet_inches.py).
    wanted = {"q" + name[1:] if name.startswith(("f.", "i.")) else name for name in touched}
    errors = {n.id: list(n.errors) for n in nodes if n.name in wanted and n.item.is_question and n.enabled}
    return Changes(show, hide, values, score, errors, announce, now)


def _inside_shown_group(node: ItemView, appeared: set[str]) -> bool:
    """True when an enclosing item appears too (its heading is announced instead of each question)."""
    parent = node.parent
    while parent is not None:
        if container_id(parent) in appeared and _label(parent):
            return True
        parent = parent.parent
    return False
