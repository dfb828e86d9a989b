"""A form's own messages (a missing answer, a date that does not exist) are said in the reader's language on the page."""
from flask import Flask

from smart_app import i18n
from smart_app.forms import FormState, build_form, evaluate
from smart_app.forms.state import field_name

FORM = {"resourceType": "Questionnaire", "status": "active", "item": [
    {"linkId": "since", "type": "date", "text": "Since", "required": True},
    {"linkId": "name", "type": "string", "text": "Name", "required": True}]}


def test_engine_messages_are_english_in_the_core_and_spanish_on_a_spanish_page(app: Flask) -> None:
    form = build_form(FORM)
    view = evaluate(form, FormState.from_post(form, {field_name("since", ()): "2024-02-30"}, {}))
    messages = [m for node in view.items for m in node.errors]
    assert "This question needs an answer." in messages  # the pure core speaks English
    assert "This date does not exist; check the day and month." in messages
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        said = [i18n.say(m) for m in messages]
    assert "Esta pregunta necesita una respuesta." in said
    assert "Esta fecha no existe; revise el día y el mes." in said
