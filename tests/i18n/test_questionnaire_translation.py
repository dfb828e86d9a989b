"""Questionnaires speak the reader's language from the FHIR translation extension, falling back to the base text."""
import copy

import pytest

from smart_app.forms import FormState, ResponseMeta, build_form, evaluate, to_questionnaire_response
from smart_app.forms.library import shared
from smart_app.forms.state import field_name
from smart_app.forms.translation import TRANSLATION, has_translation, localize, translated, translation_in


def shared_find_by_id(form_id: str) -> dict:
    """A bundled form by id."""
    return next(q for q in shared() if q.get("id") == form_id)


def tr(lang: str, text: str) -> dict:
    """A translation extension."""
    return {"url": TRANSLATION, "extension": [{"url": "lang", "valueCode": lang}, {"url": "content", "valueString": text}]}


def small_form() -> dict:
    """A form with a translated title, text, prefix, Coding display and valueString; one text left untranslated."""
    return {
        "resourceType": "Questionnaire", "url": "http://example.org/q", "status": "active",
        "title": "Check-in", "_title": {"extension": [tr("es", "Registro")]},
        "item": [
            {"linkId": "a", "type": "choice", "text": "How are you?", "_text": {"extension": [tr("es-MX", "¿Cómo está?")]},
             "prefix": "1.", "_prefix": {"extension": [tr("es", "1)")]},
             "answerOption": [
                 {"valueCoding": {"system": "http://example.org/cs", "code": "good", "display": "Good",
                                  "_display": {"extension": [tr("es", "Bien")]}}},
                 {"valueString": "Tired", "_valueString": {"extension": [tr("es", "Cansado")]}},
             ]},
            {"linkId": "b", "type": "string", "text": "Anything else?"},
        ],
    }


def test_the_base_language_is_used_when_no_translation_fits() -> None:
    form = small_form()
    assert translated(form, "title", "fr") == "Check-in"
    assert localize(form, "fr") is form and localize(form, "en") is form


@pytest.mark.parametrize(("asked", "expected"), [("es", "¿Cómo está?"), ("es-MX", "¿Cómo está?"), ("es-ES", "¿Cómo está?")])
def test_a_translation_matches_by_tag_then_by_language(asked: str, expected: str) -> None:
    assert translation_in(small_form()["item"][0]["_text"], asked) == expected


def test_localize_swaps_title_text_prefix_and_option_displays_and_keeps_codes() -> None:
    original = small_form()
    kept = copy.deepcopy(original)
    shown = localize(original, "es")
    assert original == kept, "the shared resource is never changed"
    assert shown["language"] == "es" and shown["title"] == "Registro"
    first, second = shown["item"]
    assert (first["text"], first["prefix"]) == ("¿Cómo está?", "1)")
    assert first["answerOption"][0]["valueCoding"] == {**kept["item"][0]["answerOption"][0]["valueCoding"], "display": "Bien"}
    assert first["answerOption"][1]["valueString"] == "Cansado"
    assert second["text"] == "Anything else?"  # no translation: the base text


def test_the_form_engine_builds_the_spanish_form_and_the_response_records_its_language() -> None:
    form = build_form(localize(small_form(), "es"))
    item = form.by_link_id["a"]
    assert form.title == "Registro" and item.text == "¿Cómo está?" and [o.label for o in item.options] == ["Bien", "Cansado"]
    state = FormState.from_post(form, {field_name("a", ()): "http://example.org/cs|good"}, {})
    qr = to_questionnaire_response(form, state, ResponseMeta(language="es"), view=evaluate(form, state))
    assert qr["language"] == "es"
    assert qr["item"][0]["answer"][0]["valueCoding"]["code"] == "good"


@pytest.mark.parametrize("form_id", ["phq-9", "gad-7", "previsit-intake", "medication-review"])
def test_every_bundled_form_is_complete_in_spanish(form_id: str) -> None:
    resource = shared_find_by_id(form_id)
    assert has_translation(resource, "es")
    shown = localize(resource, "es")
    assert translated(resource, "title", "es") != resource["title"]
    stack = list(zip(resource["item"], shown["item"]))
    while stack:
        base, spanish = stack.pop()
        if base.get("text"):
            assert spanish["text"] != base["text"], f"{form_id}: {base['linkId']} has no Spanish"
        for b, s in zip(base.get("answerOption", []), spanish.get("answerOption", [])):
            if "valueCoding" in b:
                assert s["valueCoding"]["display"] != b["valueCoding"]["display"], (form_id, b)
                assert s["valueCoding"]["code"] == b["valueCoding"]["code"]
        stack.extend(zip(base.get("item", []), spanish.get("item", [])))


def test_phq9_in_spanish_uses_the_published_wording_and_scores_the_same() -> None:
    resource = shared_find_by_id("phq-9")
    english, spanish = build_form(resource), build_form(localize(resource, "es"))
    assert spanish.by_link_id["phq9-q9"].text == "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera"
    assert [o.label for o in spanish.by_link_id["phq9-q1"].options] == [
        "Ningún día", "Varios días", "Más de la mitad de los días", "Casi todos los días"]
    for link_id, item in english.by_link_id.items():
        assert [(o.token, o.ordinal) for o in item.options] == [(o.token, o.ordinal) for o in spanish.by_link_id[link_id].options]
