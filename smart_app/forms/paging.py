"""Long forms as steps: one section per page, a list of sections with their state, no JavaScript.

Which items are sections (SDC itemControl https://hl7.org/fhir/uv/sdc/rendering.html#itemControl):
- items with itemControl `page` or `tab` (the outermost ones), and the children of a
  `tab-container` group; whatever lies outside them joins the next section;
- otherwise, in a long form (more than PAGED_QUESTIONS questions) with at least two top-level
  groups, each top-level item is a step (leading non-group items join the first group's step);
- otherwise the form stays on one page.
Sections never split a repeating group: a tab inside one is ignored (the whole form pages by
its top-level items instead). Pure: the views ask `sections(form)` and `step_view(...)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from smart_app.text import N_, Text

from .engine import FormView, ItemView
from .model import Form, FormItem

PAGED_QUESTIONS = 40  # a form with more questions than this, in several top-level groups, is paged
PAGE_CONTROLS = frozenset({"page", "tab"})


@dataclass(frozen=True)
class Section:
    """One step of a paged form: its root items and every linkId at or below them."""

    index: int
    items: tuple[FormItem, ...]
    link_ids: frozenset[str]

    @property
    def title(self) -> str:
        """The section's heading: its first group's (or first item's) text, else a numbered fallback."""
        first = next((i for i in self.items if i.type == "group" or i.item_control in PAGE_CONTROLS), self.items[0])
        return (first.prefix + " " if first.prefix else "") + (first.text or Text("Part %(n)s", n=self.index + 1))


@dataclass(frozen=True)
class SectionState:
    """How far a section is, for the list of sections."""

    section: Section
    questions: int
    answered: int
    errors: int
    current: bool

    @property
    def status(self) -> str:
        """Plain words: "Needs attention", "Done", "Started", "Not started" (or "No questions")."""
        if self.errors:
            return N_("Needs attention")
        if not self.questions:
            return "No questions"
        if self.answered == self.questions:
            return N_("Done")
        return N_("Started") if self.answered else N_("Not started")


@dataclass(frozen=True)
class StepView:
    """What a paged fill page renders: the current section's nodes and every section's state."""

    current: int
    sections: tuple[SectionState, ...]
    nodes: tuple[ItemView, ...]
    errors: tuple[Any, ...]  # FieldErrors on this page (the others are counted per section)

    @property
    def is_last(self) -> bool:
        """True on the final step (its primary button goes to the review)."""
        return self.current == len(self.sections) - 1


def _subtree(item: FormItem) -> set[str]:
    """linkIds of an item and all its descendants."""
    found, stack = set(), [item]
    while stack:
        node = stack.pop()
        found.add(node.link_id)
        stack.extend(node.children)
    return found


def _in_repeating_group(item: FormItem) -> bool:
    """True when any ancestor is a repeating group."""
    return any(a.type == "group" and a.repeats for a in item.ancestors())


def _control_roots(form: Form) -> list[FormItem]:
    """Outermost `page`/`tab` items and children of `tab-container` groups, in document order."""
    roots: list[FormItem] = []
    chosen: set[str] = set()
    for item in form.walk():
        if any(a.link_id in chosen for a in item.ancestors()):
            continue
        parent_container = item.parent is not None and item.parent.item_control == "tab-container"
        if item.item_control in PAGE_CONTROLS or parent_container:
            roots.append(item)
            chosen.add(item.link_id)
    return roots


def _with_leftovers(form: Form, roots: list[FormItem]) -> list[tuple[FormItem, ...]]:
    """Each root as a step; items outside every root (and not their ancestors) join the next step.

    So a hidden or calculated item beside the tabs (e.g. the patient's age) never becomes a
    page of its own; after the last root they join the last step.
    """
    inside: set[str] = set()
    for root in roots:
        inside |= _subtree(root)
    ancestors = {a.link_id for root in roots for a in root.ancestors()}
    root_ids = {r.link_id for r in roots}  # by linkId: FormItem equality would compare whole subtrees
    steps: list[list[FormItem]] = []
    pending: list[FormItem] = []
    for item in form.walk():
        if item.link_id in root_ids:
            steps.append([*pending, item])
            pending = []
        elif item.link_id not in inside and item.link_id not in ancestors and (
                item.parent is None or item.parent.link_id in ancestors):
            pending.append(item)
    if pending and steps:
        steps[-1].extend(pending)
    elif pending:
        steps.append(pending)
    return [tuple(s) for s in steps]


def _top_level_steps(form: Form) -> list[tuple[FormItem, ...]]:
    """Top-level items as steps; leading non-group items join the first group's step."""
    steps: list[list[FormItem]] = []
    pending: list[FormItem] = []
    for item in form.items:
        if item.type == "group":
            steps.append([*pending, item])
            pending = []
        elif steps:
            steps[-1].append(item)
        else:
            pending.append(item)
    if pending:
        steps.append(pending)
    return [tuple(s) for s in steps]


def sections(form: Form) -> tuple[Section, ...]:
    """The form's steps (empty when it is shown on one page)."""
    roots = _control_roots(form)
    if roots and not any(_in_repeating_group(r) for r in roots):
        steps = _with_leftovers(form, roots)
    else:
        questions = sum(1 for i in form.walk() if i.is_question)
        groups = sum(1 for i in form.items if i.type == "group")
        if questions <= PAGED_QUESTIONS or groups < 2:
            return ()
        steps = _top_level_steps(form)
    if len(steps) < 2:
        return ()
    return tuple(Section(n, items, frozenset(set().union(*(_subtree(i) for i in items))))
                 for n, items in enumerate(steps))


def _nodes_of(view: FormView, items: Iterable[FormItem]) -> tuple[ItemView, ...]:
    """The view nodes that render these items (first instance of enclosing groups)."""
    nodes = []
    for item in items:
        node = view.node(item.link_id, (0,) * item.group_depth)
        if node is not None:
            nodes.append(node)
    return tuple(nodes)


def step_view(view: FormView, steps: tuple[Section, ...], current: int) -> StepView:
    """The current section's nodes, its errors, and every section's progress."""
    current = max(0, min(current, len(steps) - 1))
    by_section: dict[str, int] = {}
    for section in steps:
        for link_id in section.link_ids:
            by_section[link_id] = section.index
    counts = {s.index: [0, 0, 0] for s in steps}  # questions, answered, errors
    for node in view.nodes:
        index = by_section.get(node.item.link_id)
        if index is None or not node.enabled or not node.item.is_question or node.item.hidden:
            continue
        counts[index][0] += 1
        counts[index][1] += 1 if node.answers else 0
        counts[index][2] += 1 if node.errors else 0
    states = tuple(SectionState(s, questions=counts[s.index][0], answered=counts[s.index][1],
                                errors=counts[s.index][2], current=s.index == current) for s in steps)
    own = steps[current].link_ids
    errors = tuple(e for e in view.errors if getattr(e, "link_id", None) in own)
    return StepView(current, states, _nodes_of(view, steps[current].items), errors)


def first_step_with_errors(view: FormView, steps: tuple[Section, ...]) -> int | None:
    """The index of the first section holding a validation error."""
    failing = {n.item.link_id for n in view.nodes if n.errors}
    return next((s.index for s in steps if s.link_ids & failing), None)
