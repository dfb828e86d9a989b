"""Responses are searched by every known `url|version` plus the bare url, so exact and lenient servers agree."""
from __future__ import annotations

import pytest

from smart_app.ehr import canonicals

URL = "http://example.org/Questionnaire/review"


def test_the_search_value_lists_each_known_version_then_the_bare_url():
    assert canonicals.search_value(URL, ["1.1.0", "1.0.0", "1.1.0"]) == f"{URL}|1.1.0,{URL}|1.0.0,{URL}"


def test_without_known_versions_the_search_value_is_the_bare_url():
    assert canonicals.search_value(URL, []) == URL


def test_commas_and_bars_inside_a_url_or_version_are_escaped():
    assert canonicals.search_value("http://x.org/a,b", ["1|2"]) == r"http://x.org/a\,b|1\|2,http://x.org/a\,b"


@pytest.mark.parametrize("value, versions, expected", [
    (f"{URL}|1.1.0", None, True),
    (f"{URL}|9.9.9", None, True),
    (URL, ["1.1.0"], True),
    (f"{URL}|1.0.0", ["1.1.0", "1.0.0"], True),
    (f"{URL}|2.0.0", ["1.1.0"], False),
    (f"{URL}-other|1.1.0", None, False),
    (None, None, False),
])
def test_a_response_names_the_form_by_url_and_known_version(value, versions, expected):
    assert canonicals.names_form(value, URL, versions) is expected
