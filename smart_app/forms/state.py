"""FormState: what the user has entered, keyed by item instance, as raw form values.

Raw values (not parsed answers) are kept so that a draft or an invalid POST re-renders exactly
what was typed. An item instance is identified by its linkId and its *instance path*: the
instance index of each enclosing group, outermost first. Field names are
`q.<linkId>.<path>` with the path's indices joined by `_` (`r` for the root), so a linkId may
contain dots and names stay unambiguous (the path never contains a dot).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Mapping

from .model import Form, FormItem

Path = tuple[int, ...]
Key = tuple[str, Path]

MAX_REPEATS = 100  # per repeating item instance; keeps a hostile POST bounded
MAX_FIELD_CHARS = 100_000


def encode_path(path: Path) -> str:
    """Path -> the field-name suffix: `r` for the root, else `0_2_1`."""
    return "_".join(map(str, path)) if path else "r"


def decode_path(text: str) -> Path | None:
    """Inverse of encode_path; None when malformed."""
    if text == "r":
        return ()
    parts = text.split("_")
    if not all(p.isdigit() and len(p) <= 4 for p in parts):
        return None
    return tuple(int(p) for p in parts)


def field_name(link_id: str, path: Path, kind: str = "q") -> str:
    """The form field name for an item instance; kind: q value, u unit, o other text, n count, f feet, i inches."""
    return f"{kind}.{link_id}.{encode_path(path)}"


def field_id(link_id: str, path: Path, index: int = 0) -> str:
    """An HTML id for an item instance's first control; safe characters only."""
    safe = "".join(c if c.isalnum() or c in "-_" else f"-{ord(c):x}-" for c in link_id)
    return f"f-{safe}-{encode_path(path)}-{index}"


def parse_field_name(name: str) -> tuple[str, str, Path] | None:
    """`kind.linkId.path` -> (kind, linkId, path), or None."""
    kind, sep, rest = name.partition(".")
    if not sep or kind not in ("q", "u", "o", "n", "f", "i"):
        return None
    link_id, sep, path_text = rest.rpartition(".")
    if not sep or not link_id:
        return None
    path = decode_path(path_text)
    return None if path is None else (kind, link_id, path)


@dataclass
class Prefill:
    """Values found for the form before the user starts, and which came from the record."""

    values: dict[Key, list[Any]] = field(default_factory=dict)
    from_record: set[Key] = field(default_factory=set)


@dataclass
class FormState:
    """Raw entered values per item instance, repeat counts per repeating group instance."""

    values: dict[Key, list[Any]] = field(default_factory=dict)
    counts: dict[Key, int] = field(default_factory=dict)
    from_record: set[Key] = field(default_factory=set)

    def raw(self, link_id: str, path: Path) -> list[Any]:
        """Raw values for one item instance (empty list when none)."""
        return self.values.get((link_id, path), [])

    def count(self, item: FormItem, path: Path) -> int:
        """Number of instances of a repeating group under a parent instance (at least 1)."""
        if item.type != "group" or not item.repeats:
            return 1
        return max(1, min(MAX_REPEATS, self.counts.get((item.link_id, path), 1)))

    @classmethod
    def initial(cls, form: Form, prefill: Prefill | None = None) -> "FormState":
        """Starting state: Questionnaire `initial` / initialSelected, overlaid by prefill."""
        from .answers import answer_to_token

        state = cls()
        for item in form.walk():
            if not item.is_question:
                continue
            path = (0,) * item.group_depth
            raw = [answer_to_token(item, a) for a in item.initial]
            raw += [o.token for o in item.options if o.initial_selected]
            if raw:
                state.values[(item.link_id, path)] = raw if item.repeats else raw[:1]
        if prefill:
            for key, raw in prefill.values.items():
                state.values[key] = list(raw)
            state.from_record |= set(prefill.from_record)
        return state

    @classmethod
    def from_post(
        cls,
        form: Form,
        data: Mapping[str, Any],
        files: Mapping[str, Any] | None = None,
        previous: "FormState | None" = None,
        scope: frozenset[str] | None = None,
    ) -> "FormState":
        """State from a POSTed form (a werkzeug MultiDict or dict of lists).

        Fields for unknown items are ignored. Attachments not re-uploaded keep the previous
        state's file. "From your record" marks survive while the value is unchanged.
        `scope`: the linkIds the page showed (one step of a paged form); answers and repeat
        counts of every other item are kept from `previous`, and posted fields outside the
        scope are ignored, so moving between steps never loses an answer.
        """
        state = cls()
        others: dict[Key, list[str]] = {}
        units: dict[Key, list[str]] = {}
        for name in _keys(data):
            parsed = parse_field_name(name)
            if parsed is None:
                continue
            kind, link_id, path = parsed
            item = form.by_link_id.get(link_id)
            if item is None or len(path) != item.group_depth or (scope is not None and link_id not in scope):
                continue
            values = [str(v)[:MAX_FIELD_CHARS] for v in _getlist(data, name)][:MAX_REPEATS]
            key = (link_id, path)
            if kind == "n" and item.type == "group" and item.repeats:
                count = values[0] if values else "1"
                state.counts[key] = max(1, min(MAX_REPEATS, int(count))) if count.isdigit() else 1
            elif kind == "q" and item.type not in ("group", "display", "attachment"):
                # Empty inputs carry no answer; dropping them keeps a draft equal to what was typed.
                if item.type == "quantity":
                    state.values[key] = values  # paired with units by position below
                elif any(v.strip() for v in values):
                    state.values[key] = [v for v in values if v.strip()]
            elif kind == "o" and item.type == "open-choice":
                others[key] = values
            elif kind == "u" and item.type == "quantity":
                units[key] = values
        for key, texts in others.items():
            state.values[key] = [v for v in state.values.get(key, []) if v != "__other__"] + [
                t for t in texts if t.strip()
            ]
        for key, unit_values in units.items():
            numbers = state.values.get(key, [])
            state.values[key] = [
                {"value": n, "unit": unit_values[i] if i < len(unit_values) else ""}
                for i, n in enumerate(numbers)
            ]
        for key, values in list(state.values.items()):
            item = form.by_link_id[key[0]]
            if item.type == "quantity":
                pairs = [v if isinstance(v, dict) else {"value": v, "unit": ""} for v in values]
                pairs = [p for p in pairs if str(p.get("value", "")).strip()]
                if pairs:
                    state.values[key] = pairs
                else:
                    del state.values[key]
        from .feet_inches import posted

        for key, height in posted(form, data, scope).items():  # kept as typed; answers.py converts
            state.values[key] = [height]
        state._attachments(form, files or {}, previous)
        if previous is not None:
            # readOnly answers are not the user's to change: keep what the server put there.
            for key in [k for k in state.values if form.by_link_id[k[0]].read_only]:
                del state.values[key]
            for key, values in previous.values.items():
                item = form.by_link_id.get(key[0])
                if item is not None and item.read_only:
                    state.values[key] = values
        if previous is not None and scope is not None:
            for key, values in previous.values.items():
                if key[0] not in scope:
                    state.values[key] = values
            for key, repeats in previous.counts.items():
                if key[0] not in scope:
                    state.counts[key] = repeats
        if previous is not None:
            state.from_record = {
                k for k in previous.from_record if previous.values.get(k) == state.values.get(k)
            }
        return state

    def _attachments(self, form: Form, files: Mapping[str, Any], previous: "FormState | None") -> None:
        """Read uploads (bounded by maxSize + 1 byte) into Attachment dicts; keep earlier ones."""
        for name in _keys(files):
            parsed = parse_field_name(name)
            if parsed is None or parsed[0] != "q":
                continue
            item = form.by_link_id.get(parsed[1])
            if item is None or item.type != "attachment" or len(parsed[2]) != item.group_depth:
                continue
            for upload in _getlist(files, name)[:1]:
                filename = getattr(upload, "filename", "") or ""
                if not filename:
                    continue
                data = upload.read(item.max_size + 1)
                self.values[(item.link_id, parsed[2])] = [{
                    "contentType": getattr(upload, "mimetype", None) or "application/octet-stream",
                    "size": len(data),
                    "title": filename[-200:],
                    "data": base64.b64encode(data).decode("ascii") if len(data) <= item.max_size else "",
                }]
        if previous is None:
            return
        for key, values in previous.values.items():
            item = form.by_link_id.get(key[0])
            if item is not None and item.type == "attachment" and key not in self.values:
                self.values[key] = values

    def apply_action(self, form: Form, action: str) -> bool:
        """Apply an add/remove button (`add:<groupfield>`, `remove:<groupfield>:<i>`,
        `addanswer:<field>`, `removeanswer:<field>:<i>`, `removefile:<field>`); True when applied."""
        verb, _, rest = action.partition(":")
        if verb == "removefile":
            parsed = parse_field_name(rest)
            item = form.by_link_id.get(parsed[1]) if parsed else None
            if parsed and item is not None and item.type == "attachment":
                return self.values.pop((parsed[1], parsed[2]), None) is not None
            return False
        target, _, index_text = rest.rpartition(":") if verb.startswith("remove") else (rest, "", "")
        parsed = parse_field_name(target)
        if parsed is None:
            return False
        _, link_id, path = parsed
        item = form.by_link_id.get(link_id)
        if item is None or len(path) != item.group_depth or not item.repeats:
            return False
        key = (link_id, path)
        index = int(index_text) if index_text.isdigit() else -1
        if item.type == "group" and verb == "add":
            self.counts[key] = min(MAX_REPEATS, self.count(item, path) + 1)
            return True
        if item.type == "group" and verb == "remove" and 0 <= index < self.count(item, path):
            self._remove_group_instance(form, item, path, index)
            return True
        if item.type != "group" and verb == "addanswer":
            self.values[key] = self.values.get(key, []) + [""]
            return True
        if item.type != "group" and verb == "removeanswer":
            values = self.values.get(key, [])
            if 0 <= index < len(values):
                del values[index]
                return True
        return False

    def _remove_group_instance(self, form: Form, group: FormItem, path: Path, index: int) -> None:
        """Drop one instance of a repeating group and renumber the later ones."""
        depth = len(path)
        count = self.count(group, path)
        descendants = {i.link_id for i in _descendants(group)}

        def shift(key_path: Path) -> Path | None:
            """The path after removal: None inside the removed instance, renumbered after it."""
            if key_path[:depth] != path or len(key_path) <= depth:
                return key_path
            i = key_path[depth]
            if i == index:
                return None
            return key_path[:depth] + ((i - 1,) if i > index else (i,)) + key_path[depth + 1:]

        for store in (self.values, self.counts):
            moved: dict[Key, Any] = {}
            for (link_id, key_path), value in store.items():
                if link_id in descendants:
                    new_path = shift(key_path)
                    if new_path is not None:
                        moved[(link_id, new_path)] = value
                else:
                    moved[(link_id, key_path)] = value
            store.clear()
            store.update(moved)
        self.from_record = {
            (link, p2) for link, p in self.from_record
            if (p2 := (shift(p) if link in descendants else p)) is not None
        }
        self.counts[(group.link_id, path)] = max(1, count - 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for a draft store."""
        return {
            "values": [[k[0], list(k[1]), v] for k, v in self.values.items()],
            "counts": [[k[0], list(k[1]), v] for k, v in self.counts.items()],
            "from_record": [[k[0], list(k[1])] for k in self.from_record],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FormState":
        """Inverse of to_dict."""
        return cls(
            values={(link, tuple(p)): list(v) for link, p, v in data.get("values", [])},
            counts={(link, tuple(p)): int(v) for link, p, v in data.get("counts", [])},
            from_record={(link, tuple(p)) for link, p in data.get("from_record", [])},
        )


def _descendants(item: FormItem) -> list[FormItem]:
    """All items below `item`, iteratively."""
    out, stack = [], list(item.children)
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out


def _keys(data: Mapping[str, Any]) -> list[str]:
    """Distinct keys of a dict or MultiDict."""
    return list(dict.fromkeys(data.keys()))


def _getlist(data: Mapping[str, Any], name: str) -> list[Any]:
    """All values for a key, for MultiDict or dict-of-lists or plain dict."""
    if hasattr(data, "getlist"):
        return list(data.getlist(name))
    value = data.get(name)
    if isinstance(value, (list, tuple)):
        return list(value)
    return [] if value is None else [value]
