"""Words a pure core hands to a page, kept translatable (no Flask here).

`Text("Tell us whether you are taking %(name)s.", name="Metformin")` is the English sentence
(values may be Texts themselves, or lists of them, each translated in turn)
(a `str`, so logs, tests and stored records read as before) that also remembers its catalog
message and values; a page says it in the reader's language with `say(text)`
(smart_app/i18n.py; `{{ say(message) }}` in templates). Plain strings marked with `N_` are
looked up as they are. `NText(singular, plural, num, ...)` is a Text that depends on a count.
Numbers among the values are written in the reader's locale and dates as the reader's dates when
said. `.ci/translations` extracts all three (`-k Text -k NText:1,2 -k N_`).
"""
from __future__ import annotations

from typing import Any


class Text(str):
    """English text with its catalog message id and named values."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, **values: Any) -> "Text":
        """The English sentence, remembering how to translate it (a list value reads "a, b, c")."""
        shown = {k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in values.items()}
        text = super().__new__(cls, msgid % shown if values else msgid)
        text.msgid = msgid
        text.values = values
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (e.g. a flashed message in the session) as message id and values."""
        return (_rebuild, (self.msgid, self.values))


def _rebuild(msgid: str, values: dict[str, Any]) -> Text:
    """Inverse of Text.__reduce__."""
    return Text(msgid, **values)


class NText(Text):
    """A Text whose words depend on a count ("1 answer" / "3 answers"); `num` is the count, said
    with the catalog's plural rule for the reader's language (`ngettext`)."""

    plural: str

    def __new__(cls, msgid: str, plural: str, num: int, **values: Any) -> "NText":
        """The English for this count, remembering both forms and the count."""
        shown = {k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in values.items()}
        text = str.__new__(cls, (msgid if num == 1 else plural) % {**shown, "num": num})
        text.msgid = msgid
        text.plural = plural
        text.values = {**values, "num": num}
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as both forms and the values."""
        return (_rebuild_plural, (self.msgid, self.plural, self.values))


def _rebuild_plural(msgid: str, plural: str, values: dict[str, Any]) -> NText:
    """Inverse of NText.__reduce__."""
    rest = dict(values)
    return NText(msgid, plural, rest.pop("num"), **rest)


def N_(text: str) -> str:
    """Mark a fixed text for the catalog; it is translated where it is shown."""
    return text
