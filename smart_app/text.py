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

from datetime import time
from decimal import Decimal
from typing import Any, Sequence


class Text(str):
    """English text with its catalog message id and named values."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, **values: Any) -> "Text":
        """The English sentence, remembering how to translate it (a list value reads "a, b, c")."""
        shown = {k: _english(v) for k, v in values.items()}
        text = super().__new__(cls, msgid % shown if values else msgid)
        text.msgid = msgid
        text.values = values
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (e.g. a flashed message in the session) as message id and values."""
        return (_rebuild, (self.msgid, self.values))


def _english(value: Any) -> Any:
    """A value as the English str shows it (a list as "a, b", a time of day as "08:00")."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_english(v)) for v in value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return f"{value:,}"  # as English writes numbers ("1,000"); said in the reader's locale on a page
    return value


def _rebuild(msgid: str, values: dict[str, Any]) -> Text:
    """Inverse of Text.__reduce__."""
    return Text(msgid, **values)


class NText(Text):
    """A Text whose words depend on a count ("1 answer" / "3 answers"); `num` is the count, said
    with the catalog's plural rule for the reader's language (`ngettext`)."""

    plural: str

    def __new__(cls, msgid: str, plural: str, num: int, **values: Any) -> "NText":
        """The English for this count, remembering both forms and the count."""
        shown = {k: _english(v) for k, v in values.items()}
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


class Joined(str):
    """Several texts read one after another ("1 tablet" + "by mouth" + "twice a day"), each said in
    the reader's language and joined by `sep`; the str is the English."""

    parts: tuple[str, ...]
    sep: str

    def __new__(cls, parts: Sequence[str], sep: str = " ") -> "Joined":
        """The parts (empty ones dropped), joined."""
        kept = tuple(p for p in parts if p)
        text = super().__new__(cls, sep.join(kept))
        text.parts = kept
        text.sep = sep
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as its parts and separator."""
        return (Joined, (self.parts, self.sep))


class FhirDate(str):
    """A FHIR date of any precision ("2026", "2026-02", "2026-02-14") as a message value: its str is
    the English words ("February 2026"), and a page says it as the reader's dates (i18n.fhir_date)."""

    fhir: str

    def __new__(cls, value: str, english: str) -> "FhirDate":
        """The raw FHIR value and its English words."""
        text = super().__new__(cls, english)
        text.fhir = value
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the value and its words."""
        return (FhirDate, (self.fhir, str(self)))


def N_(text: str) -> str:
    """Mark a fixed text for the catalog; it is translated where it is shown."""
    return text
