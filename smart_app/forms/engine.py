"""evaluate(form, state, context) -> FormView: the form's instances with answers, enablement,
calculated values, validation messages and scores, ready to render or to turn into a response.

One pass builds the instance tree; then answers are parsed, calculated expressions run on a
provisional response, enablement is resolved (chained, per repeat instance) and the final
response is rebuilt from enabled answers only. Work is linear in item instances.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from smart_app.text import N_

from .answers import Answer, AnswerError, answer_to_token, parse_answer
from .enable_when import combine, condition_holds
from .expressions import FillContext, add_variables, environment, run, to_answers, to_options
from .model import Form, FormItem, coding_token
from .scoring import Score, has_score, score, score_plan, score_scope, typed_total_problem
from .state import FormState, Path, field_id, field_name
from .feet_inches import is_feet_and_inches, offers_feet_and_inches
from .validation import number_message, validate_answers


@dataclass
class GroupInstance:
    """One instance of a group (a repeating group has several)."""

    index: int
    path: Path
    children: list["ItemView"] = field(default_factory=list)


@dataclass
class ItemView:
    """One item instance as the template and the response builder see it."""

    item: FormItem
    path: Path  # instance path of the item (for groups: of the enclosing instance)
    name: str
    id: str
    raw: list[Any] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    enabled: bool = True
    calculated: bool = False
    failed: bool = False  # an expression for this item failed: it shows "could not be calculated"
    from_record: bool = False
    instances: list[GroupInstance] = field(default_factory=list)  # groups only
    children: list["ItemView"] = field(default_factory=list)  # items nested under a question
    parent: "ItemView | None" = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, Path]:
        """(linkId, path): the FormState key."""
        return self.item.link_id, self.path

    @property
    def feet_and_inches(self) -> bool:
        """A height that may be typed in feet and inches (feet_inches.py)."""
        return offers_feet_and_inches(self.item)

    @property
    def describedby(self) -> str:
        """Space-separated ids of help, hint and error text for aria-describedby."""
        ids = []
        if self.item.help or self.item.entry_format or self.item.options_note or self.from_record:
            ids.append(self.id + "-help")
        if self.errors:
            ids.append(self.id + "-error")
        return " ".join(ids)


@dataclass(frozen=True)
class FieldError:
    """An error-summary entry: the control's id and a message."""

    id: str
    link_id: str
    path: Path
    label: str
    message: str


@dataclass
class FormView:
    """Everything a template or builder needs after evaluation."""

    form: Form
    state: FormState
    items: list[ItemView]
    nodes: list[ItemView]  # all instances in document order
    errors: list[FieldError]
    score: Score | None
    response_items: list[dict[str, Any]]  # QuestionnaireResponse.item built from enabled answers
    problems: list[str]  # expression failures (for logs; never user data)
    owners: dict[int, ItemView] = field(default_factory=dict, repr=False)
    failures: dict[str, str] = field(default_factory=dict)  # linkId -> where an expression failed (audited)
    unfilled: list[str] = field(default_factory=list)  # linkIds: required, hidden or read-only, and empty

    @property
    def notes(self) -> list[tuple[str, str]]:
        """What the form's owner should fix: degraded items (from parsing) and failed expressions."""
        return list(self.form.notes) + [(k, "an expression could not be calculated") for k in self.failures]

    @property
    def valid(self) -> bool:
        """No validation errors."""
        return not self.errors

    def node(self, link_id: str, path: Path = ()) -> ItemView | None:
        """Find an instance by linkId and path (its FormState key)."""
        if not hasattr(self, "_index"):
            self._index = {n.key: n for n in self.nodes}
        return self._index.get((link_id, path))



def _flatten(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Response items at this level and below (for `where(linkId=...)` steps)."""
    out, stack = [], list(reversed(items))
    while stack:
        node = stack.pop()
        out.append(node)
        children = list(node.get("item") or [])
        for answer in node.get("answer") or []:
            children += answer.get("item") or []
        stack.extend(reversed(children))
    return out


def _label(item: FormItem) -> str:
    """Prefix + text, as the error summary names a field."""
    return " ".join(p for p in (item.prefix, item.text) if p) or item.link_id


DATA_ABSENT_UNKNOWN = {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}

# Bounds the instance tree: nested repeats multiply, and counts come from a POST.
MAX_INSTANCES = 20_000


def _build_tree(form: Form, state: FormState) -> tuple[list[ItemView], list[ItemView]]:
    """Expand the item tree into instances (iteratively) in document order.

    Once MAX_INSTANCES nodes exist, further repeating groups get a single instance, so a
    hostile repeat count cannot blow up the work.
    """
    roots: list[ItemView] = []
    nodes: list[ItemView] = []
    stack: list[tuple[FormItem, Path, list[ItemView], ItemView | None]] = [
        (item, (), roots, None) for item in reversed(form.items)
    ]
    while stack:
        item, path, sink, parent = stack.pop()
        view = ItemView(item, path, field_name(item.link_id, path), field_id(item.link_id, path), parent=parent)
        sink.append(view)
        nodes.append(view)
        pending: list[tuple[FormItem, Path, list[ItemView], ItemView | None]] = []
        if item.type == "group":
            count = state.count(item, path) if len(nodes) < MAX_INSTANCES else 1
            for index in range(count):
                instance = GroupInstance(index, path + (index,))
                view.instances.append(instance)
                pending += [(child, instance.path, instance.children, view) for child in item.children]
        else:
            view.raw = list(state.raw(item.link_id, path))
            view.from_record = view.key in state.from_record
            pending += [(child, path, view.children, view) for child in item.children]
        stack.extend(reversed(pending))
    return roots, nodes


def _group_chain(item: FormItem) -> list[str]:
    """linkIds of the enclosing groups, outermost first."""
    return [a.link_id for a in reversed(list(item.ancestors())) if a.type == "group"]


class _Evaluator:
    """Holds the per-evaluation indexes."""

    def __init__(self, form: Form, state: FormState, ctx: FillContext) -> None:
        """Expand the instance tree and index it."""
        self.form, self.state, self.ctx = form, state, ctx
        ctx.questionnaire = form.questionnaire
        ctx.launch_names = tuple(spec.name for spec in form.launch_context)
        plan = score_plan(form)
        ctx.weights = plan.weights
        self.sum_items = plan.sums
        self.instance_nodes: dict[tuple[str, Path], dict[str, Any]] = {}  # (linkId, instance path) -> response node
        self.unfilled: list[str] = []
        self.roots, self.nodes = _build_tree(form, state)
        self.today = ctx.today or dt.datetime.now(ctx.tz).date()
        self.by_link: dict[str, list[ItemView]] = {}
        self.by_key: dict[tuple[str, Path], ItemView] = {}
        for node in self.nodes:
            self.by_link.setdefault(node.item.link_id, []).append(node)
            self.by_key[node.key] = node
        self.chains: dict[str, list[str]] = {}
        self.enabled: dict[int, bool] = {}
        self.qr_nodes: dict[int, dict[str, Any]] = {}
        self.owners: dict[int, ItemView] = {}  # id(response item) -> the instance it came from
        self.response: dict[str, Any] = {}
        self._root_env: tuple[dict[str, Any], dict[str, Any]] | None = None  # root variables per response

    def chain(self, item: FormItem) -> list[str]:
        """Cached group chain."""
        if item.link_id not in self.chains:
            self.chains[item.link_id] = _group_chain(item)
        return self.chains[item.link_id]

    def parse(self) -> None:
        """Raw values -> typed answers, collecting parse errors."""
        for node in self.nodes:
            if not node.item.is_question:
                continue
            for raw in node.raw:
                try:
                    answer = parse_answer(node.item, raw, self.ctx.tz)
                except AnswerError as error:
                    # Feet and inches carry their own plain message (feet_inches.py); numbers are worded for the field.
                    message = (error.args[0] if is_feet_and_inches(raw)
                               else number_message(node.item, _typed_number(raw), str(error)))
                    if message not in node.errors:
                        node.errors.append(message)
                    continue
                if answer is not None:
                    node.answers.append(answer)

    def question_nodes(self, node: ItemView, question: FormItem) -> list[ItemView]:
        """Instances of `question` that a condition on `node` refers to (nearest, per repeat)."""
        mine, theirs = self.chain(node.item), self.chain(question)
        shared = 0
        while shared < min(len(mine), len(theirs)) and mine[shared] == theirs[shared]:
            shared += 1
        prefix = node.path[:shared]
        if shared == len(theirs):  # the question sits in this instance or an enclosing one
            found = self.by_key.get((question.link_id, prefix))
            return [found] if found is not None else []
        return [c for c in self.by_link.get(question.link_id, []) if c.path[:shared] == prefix]

    def resolve_enablement(self) -> None:
        """Enabled = parent enabled and own conditions; chained without recursion, cycles disabled."""
        state: dict[int, int] = {}  # 1 in progress, 2 done
        for start in self.nodes:
            stack = [start]
            while stack:
                node = stack[-1]
                if state.get(id(node)) == 2:
                    stack.pop()
                    continue
                deps = [node.parent] if node.parent is not None else []
                for cond in node.item.enable_when:
                    deps += self.question_nodes(node, self.form.by_link_id[cond.question])
                pending = [d for d in deps if state.get(id(d)) is None]
                if pending:
                    state[id(node)] = 1
                    stack.extend(pending)
                    continue
                self.enabled[id(node)] = self._own_enabled(node)
                state[id(node)] = 2
                stack.pop()
        for node in self.nodes:
            node.enabled = self.enabled.get(id(node), False)

    def _own_enabled(self, node: ItemView) -> bool:
        """This instance's enablement given its dependencies are resolved."""
        if node.parent is not None and not self.enabled.get(id(node.parent), False):
            return False
        item = node.item
        if item.enable_when:
            results = []
            for cond in item.enable_when:
                answers = [
                    a for q in self.question_nodes(node, self.form.by_link_id[cond.question])
                    if self.enabled.get(id(q), False) for a in q.answers
                ]
                results.append(condition_holds(cond, answers))
            if not combine(results, item.enable_behavior):
                return False
        if item.enable_when_expression is not None:
            result = self._run(node, item.enable_when_expression, "enableWhenExpression")
            if result[:1] != [True]:
                return False
        return True

    def build_response_items(self, enabled_only: bool, mark_absent: bool = False) -> list[dict[str, Any]]:
        """QuestionnaireResponse.item for the current answers (nested groups, repeats).

        mark_absent: a required item the person cannot fill (hidden, read-only or calculated) that
        is still empty is written without an answer, with data-absent-reason "unknown" on the item,
        so the response records it as missing instead of silently dropping it.
        """
        self.qr_nodes = {}
        self.owners = {}
        self.instance_nodes = {}

        def emit(views: list[ItemView]) -> list[dict[str, Any]]:
            """Response items for these sibling instances."""
            out = []
            for view in views:
                if enabled_only and not view.enabled:
                    continue
                item = view.item
                if item.type == "display":
                    continue
                if item.type == "group":
                    for instance in view.instances:
                        children = emit(instance.children)
                        if children:
                            node = {"linkId": item.link_id, **({"text": item.text} if item.text else {}), "item": children}
                            out.append(node)
                            self.qr_nodes[id(view)] = node
                            self.instance_nodes[(item.link_id, instance.path)] = node
                            self.owners[id(node)] = view
                    continue
                answers = [{f"value{s}": v} for s, v in view.answers]
                nested = emit(view.children)
                if nested and answers:
                    answers[0]["item"] = nested  # R4: items nested under a question hang off its answer
                if not answers:
                    if mark_absent and item.required and (view.calculated or item.read_only or _hidden(item)):
                        node = {"linkId": item.link_id, **({"text": item.text} if item.text else {}),
                                "extension": [dict(DATA_ABSENT_UNKNOWN)]}
                        self.owners[id(node)] = view
                        out.append(node)
                    continue
                node = {"linkId": item.link_id, **({"text": item.text} if item.text else {}), "answer": answers}
                self.qr_nodes[id(view)] = node
                self.instance_nodes[(item.link_id, view.path)] = node
                self.owners[id(node)] = view
                out.append(node)
            return out

        # emit() recurses once per nesting level; depth is bounded by MAX_DEPTH.
        return emit(self.roots)

    def _context_of(self, view: ItemView, link_id: str) -> dict[str, Any]:
        """%context for an item: its response node in this instance (a bare stub while unanswered)."""
        if view.item.type == "group":
            path = view.path + ((view.instances[0].index,) if view.instances else ())
            return self.instance_nodes.get((link_id, path)) or {"linkId": link_id}
        return self.instance_nodes.get((link_id, view.path)) or {"linkId": link_id}

    def _run(self, node: ItemView, expr: Any, what: str) -> list[Any]:
        """Evaluate an item-level expression in the SDC environment of this instance.

        Form variables are evaluated on the response; each ancestor's (and the item's own)
        variables on that ancestor's response node, outermost first, so a variable is seen by
        its item's descendants only.
        """
        if self._root_env is None or self._root_env[0] is not self.response:
            env = environment(self.ctx, self.response)
            self._root_env = (self.response, add_variables(self.form.variables, self.response, env, self.ctx, "root"))
        env = self._root_env[1]
        chain: list[ItemView] = []
        view: ItemView | None = node
        while view is not None:
            chain.append(view)
            view = view.parent
        for ancestor in reversed(chain):
            if not ancestor.item.variables:
                continue
            if ancestor is node:
                base = self._context_of(node, node.item.link_id)
            else:  # the instance of the ancestor group that holds this node
                depth = ancestor.item.group_depth + 1 if ancestor.item.type == "group" else len(ancestor.path)
                key = (ancestor.item.link_id, node.path[:depth])
                base = self.instance_nodes.get(key) or {"linkId": ancestor.item.link_id}
            env = add_variables(ancestor.item.variables, base, {**env, "context": base, "qitem": ancestor.item.source},
                                self.ctx, ancestor.item.link_id, node.item.link_id)
        base = self._context_of(node, node.item.link_id)
        env = {**env, "context": base, "qitem": node.item.source}
        return run(expr, base, env, self.ctx, f"{node.item.link_id} {what}", node.item.link_id)

    def calculate(self) -> None:
        """calculatedExpression values replace entered ones (they are read-only by definition)."""
        for node in self.nodes:
            expr = node.item.calculated_expression
            if expr is None or not node.item.is_question:
                continue
            before = len(self.ctx.problems)
            node.answers = to_answers(node.item, self._run(node, expr, "calculatedExpression"))
            node.failed = len(self.ctx.problems) > before
            node.raw = [answer_to_token(node.item, a) for a in node.answers]
            node.errors = []
            node.calculated = True

    def answer_lists(self) -> None:
        """answerExpression (or, for an item without options, candidateExpression) gives the options
        of each instance; this instance's answers are then read again against that list.

        The shared FormItem is never changed: the instance gets its own copy with the options.
        """
        for node in self.nodes:
            item = node.item
            expr = item.answer_expression or (item.candidate_expression if not item.options else None)
            if expr is None or item.type not in ("choice", "open-choice", "reference"):
                continue
            what = "answerExpression" if item.answer_expression is not None else "candidateExpression"
            before = len(self.ctx.problems)
            options = to_options(item, self._run(node, expr, what))
            node.failed = len(self.ctx.problems) > before
            if not options and not item.options:
                continue
            node.item = replace(item, options=options or item.options)
            node.answers, node.errors = [], []
            for raw in node.raw:
                try:
                    answer = parse_answer(node.item, raw, self.ctx.tz)
                except AnswerError as error:
                    node.errors.append(str(error))
                    continue
                if answer is not None:
                    node.answers.append(answer)

    def sum_scores(self) -> None:
        """Score items without an expression: the sum of the ordinals they cover, in the same group instance.

        Only enabled answers count once enablement is known. Nothing answered: no value (not 0).
        """
        for node in self.nodes:
            covered = self.sum_items.get(node.item.link_id)
            if covered is None:
                continue
            scope = score_scope(node.item)
            depth = scope.group_depth + 1 if scope is not None else 0
            prefix = node.path[:depth]
            total, answered = None, False
            for item in covered:
                ordinals = item.ordinals
                for other in self.by_link.get(item.link_id, []):
                    if other.path[:depth] != prefix or not self.enabled.get(id(other), not self.enabled):
                        continue
                    for suffix, value in other.answers:
                        points = ordinals.get(_token(suffix, value))
                        if points is not None:
                            total = (total or 0) + points
                            answered = True
            node.answers = to_answers(node.item, [total]) if answered else []
            node.raw = [answer_to_token(node.item, a) for a in node.answers]
            node.errors = []
            node.calculated = True

    def response_resource(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """A provisional QuestionnaireResponse for FHIRPath's %resource."""
        resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": items}
        if self.form.canonical:
            resource["questionnaire"] = self.form.canonical
        return resource

    def validate(self) -> list[FieldError]:
        """Validation messages on enabled instances, and the summary list."""
        errors: list[FieldError] = []
        for node in self.nodes:
            item = node.item
            if not node.enabled or item.type == "display":
                node.errors = []
                continue
            if item.type == "group":
                messages = []
                if item.required and not self.qr_nodes.get(id(node)):
                    messages.append(N_("Answer at least one question in this section."))
                if item.repeats:
                    messages += _occurs(item, len(node.instances))
                node.errors = messages
            elif node.calculated or item.read_only or _hidden(item):
                # The person cannot fill these: an empty required one is reported, never a blocker.
                node.errors = []
                if item.required and not node.answers and item.link_id not in self.unfilled:
                    self.unfilled.append(item.link_id)
            elif not node.errors:  # a parse error already explains the problem
                node.errors = validate_answers(item, node.answers, today=self.today)
                for suffix, value in node.answers:
                    problem = typed_total_problem(item, value) if suffix in ("Integer", "Decimal") else None
                    if problem and problem not in node.errors:
                        node.errors.append(problem)
            for message in node.errors:
                errors.append(FieldError(node.id, item.link_id, node.path, _label(item), message))
        return errors


def _typed_number(raw: Any) -> str:
    """The number text of a raw value (a quantity's raw value is {"value", "unit"})."""
    return str(raw.get("value") or "") if isinstance(raw, dict) else str(raw)


def _hidden(item: FormItem) -> bool:
    """Hidden by questionnaire-hidden, itself or through an enclosing item."""
    return item.hidden or any(a.hidden for a in item.ancestors())


def _token(suffix: str, value: Any) -> str:
    """Option token of an answer (as Option.token)."""
    return coding_token(value) if suffix == "Coding" and isinstance(value, dict) else str(value)


def _occurs(item: FormItem, count: int) -> list[str]:
    """min/maxOccurs messages for a repeating group."""
    messages = []
    if item.min_occurs is not None and count < item.min_occurs:
        messages.append(f"Add at least {item.min_occurs} entries.")
    if item.max_occurs is not None and count > item.max_occurs:
        messages.append(f"Add at most {item.max_occurs} entries.")
    return messages


def evaluate(
    form: Form, state: FormState, context: FillContext | None = None, validate: bool = True
) -> FormView:
    """Evaluate a form against entered state: enablement, calculations, validation, score.

    validate=False (a first render) leaves every message out, parse errors included.
    """
    ctx = context or FillContext()
    ev = _Evaluator(form, state, ctx)
    ev.parse()
    has_expressions = any(
        i.calculated_expression or i.enable_when_expression for i in form.by_link_id.values()
    )
    if any(i.answer_expression or i.candidate_expression for i in form.by_link_id.values()):
        ev.response = ev.response_resource(ev.build_response_items(enabled_only=False))
        ev.answer_lists()
    if has_expressions:
        ev.sum_scores()
        ev.response = ev.response_resource(ev.build_response_items(enabled_only=False))
        ev.calculate()
        ev.sum_scores()
        ev.response = ev.response_resource(ev.build_response_items(enabled_only=False))
    else:
        ev.response = ev.response_resource([])
    ev.resolve_enablement()
    ev.sum_scores()
    items = ev.build_response_items(enabled_only=True)
    if has_expressions:
        # Totals must not count answers on disabled items: recalculate on the enabled-only response.
        ev.response = ev.response_resource(items)
        ev.calculate()
        ev.sum_scores()
    items = ev.build_response_items(enabled_only=True, mark_absent=True)
    errors = ev.validate()
    if not validate:
        for node in ev.nodes:
            node.errors = []
        errors = []
    total = score(form, ((n.item, n.answers) for n in ev.nodes if n.enabled and n.item.is_question)) if has_score(form) else None
    view = FormView(form, state, ev.roots, ev.nodes, errors, total, items, list(ctx.problems),
                    failures=dict(ctx.failures), unfilled=list(ev.unfilled))
    view.owners = ev.owners
    return view
