"""The floor redoes every template a page rendered and serves the page, not a partial rendered before it."""
from __future__ import annotations

from bench.floor import page_capture


def test_a_partial_rendered_before_the_page_is_rendered_too_but_the_page_is_served() -> None:
    captured = page_capture([("questionnaires/_score.html", {"score": 3}), ("questionnaires/fill.html", {"title": "PHQ-9"}),
                             ("questionnaires/_draft_words.html", {"status": "saved"})], [("POST", "/fhir", "{}")])
    assert [template for template, _ in captured["renders"]] == [
        "questionnaires/_score.html", "questionnaires/fill.html", "questionnaires/_draft_words.html"]
    assert captured["template"] == "questionnaires/fill.html"
    assert captured["renders"][captured["page"]][1] == {"title": "PHQ-9"}


def test_flasks_own_globals_are_left_out_of_the_captured_data() -> None:
    captured = page_capture([("home/launch.html", {"g": object(), "request": object(), "session": {}, "config": {},
                                                   "entries": [1, 2]})], [])
    assert captured["renders"] == [("home/launch.html", {"entries": [1, 2]})]
    assert captured["page"] == 0
