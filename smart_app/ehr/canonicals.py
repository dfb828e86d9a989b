"""Looking a response up by its Questionnaire's canonical, in a way every server answers the same.

A QuestionnaireResponse names its form as `url|version`. Servers differ on what a search by
`questionnaire=url` finds (canonical references, https://hl7.org/fhir/R4/search.html#reference):
some match any version, others compare the canonical exactly, so a stored `url|1.1.0` is not
found by the bare url.
Searching by every known `url|version` *and* the bare url (comma = OR,
https://hl7.org/fhir/R4/search.html#combining) finds the same responses on both kinds, and the
local check below keeps a lenient server's extra versions out when the caller wants that.
Pure: no I/O.
"""
from __future__ import annotations

from collections.abc import Iterable


def split(canonical: str) -> tuple[str, str | None]:
    """(url, version or None) of a canonical `url|version`."""
    url, bar, version = canonical.partition("|")
    return url, (version or None) if bar else None


def _escape(text: str) -> str:
    """Backslash-escape the search special characters inside one value (search.html#escaping)."""
    for ch in ("\\", ",", "$", "|"):
        text = text.replace(ch, "\\" + ch)
    return text


def known_forms(url: str, versions: Iterable[str]) -> tuple[str, ...]:
    """Every canonical a response to this form may carry: `url|v` for each known version, then `url`."""
    unique = [v for v in dict.fromkeys(versions) if v]
    return (*(f"{url}|{v}" for v in unique), url)


def search_value(url: str, versions: Iterable[str]) -> str:
    """The `questionnaire=` value that finds responses to any known version on exact and lenient servers."""
    return ",".join(f"{_escape(u)}|{_escape(v)}" if v else _escape(u)
                    for u, v in (split(c) for c in known_forms(url, versions)))


def names_form(value: object, url: str, versions: Iterable[str] | None = None) -> bool:
    """True when a response's `questionnaire` value names this form.

    With `versions`, only those versions (or no version at all) count; with None, any version does.
    """
    if not isinstance(value, str):
        return False
    have_url, have_version = split(value)
    if have_url != url:
        return False
    return versions is None or have_version is None or have_version in set(versions)
