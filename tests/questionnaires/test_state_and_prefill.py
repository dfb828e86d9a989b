"""Field naming, POST parsing, repeat add/remove, drafts, and prefill from the record."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from smart_app.forms import FillContext, FormState, LIBRARY_BASE, build_form, evaluate, find, populate
from smart_app.forms.state import decode_path, encode_path, field_name, parse_field_name

from .conftest import LOINC, UCUM, item, questionnaire, run, sdc_expression

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("link_id, path", [("a", ()), ("a.b.c", (0, 12)), ("x y/z", (3,)), ("1.2", (0, 0, 0))])
def test_field_names_round_trip_even_with_dots_in_link_ids(link_id, path) -> None:
    assert parse_field_name(field_name(link_id, path)) == ("q", link_id, path)
    assert decode_path(encode_path(path)) == path


@pytest.mark.parametrize("name", ["q.a", "z.a.r", "q..r", "q.a.0_x", "q.a.99999", "csrf_token"])
def test_malformed_field_names_are_ignored(name) -> None:
    assert parse_field_name(name) is None


def test_from_post_reads_a_multidict_and_ignores_unknown_fields() -> None:
    form = build_form(questionnaire(item("a", "string", repeats=True), item("g", "group", item=[item("b", "string")])))
    post = MultiDict([("q.a.r", "one"), ("q.a.r", "two"), ("q.b.0", "inner"), ("q.ghost.r", "x"),
                      ("q.b.r", "wrong depth"), ("csrf_token", "t")])
    state = FormState.from_post(form, post)
    assert state.values == {("a", ()): ["one", "two"], ("b", (0,)): ["inner"]}


def test_repeat_group_add_and_remove_renumber_instances() -> None:
    form = build_form(questionnaire(item("g", "group", repeats=True, item=[item("x", "string")])))
    state = FormState.from_post(form, {"n.g.r": "3", "q.x.0": "a", "q.x.1": "b", "q.x.2": "c"})
    assert state.apply_action(form, "remove:q.g.r:1")
    assert state.count(form.by_link_id["g"], ()) == 2
    assert [state.raw("x", (i,)) for i in range(2)] == [["a"], ["c"]]
    assert state.apply_action(form, "add:q.g.r")
    assert state.count(form.by_link_id["g"], ()) == 3
    assert not state.apply_action(form, "add:q.nope.r")
    assert not state.apply_action(form, "remove:q.g.r:9")


def test_repeat_answers_add_and_remove() -> None:
    form = build_form(questionnaire(item("a", "string", repeats=True)))
    state = FormState.from_post(form, {"q.a.r": ["one", "two"]})
    assert state.apply_action(form, "addanswer:q.a.r") and state.raw("a", ()) == ["one", "two", ""]
    assert state.apply_action(form, "removeanswer:q.a.r:0") and state.raw("a", ()) == ["two", ""]


def test_attachment_upload_is_stored_and_survives_the_next_post() -> None:
    form = build_form(questionnaire(item("f", "attachment", ext=[("maxSize", "valueDecimal", 10), ("mimeType", "valueCode", "text/plain")])))
    upload = FileStorage(io.BytesIO(b"hello"), filename="note.txt", content_type="text/plain")
    first = FormState.from_post(form, {}, {"q.f.r": upload})
    assert first.raw("f", ()) == [{"contentType": "text/plain", "size": 5, "title": "note.txt", "data": "aGVsbG8="}]
    second = FormState.from_post(form, {}, {}, previous=first)
    assert second.raw("f", ()) == first.raw("f", ())
    qr_answer = evaluate(form, second).response_items[0]["answer"][0]["valueAttachment"]
    assert qr_answer["title"] == "note.txt" and qr_answer["size"] == 5
    assert second.apply_action(form, "removefile:q.f.r") and second.raw("f", ()) == []


@pytest.mark.parametrize("content, mime, message", [
    (b"x" * 11, "text/plain", "This file is larger than the limit of 1 KB."),
    (b"x", "image/png", "This type of file is not accepted. Accepted types: text/plain."),
])
def test_attachment_limits(content, mime, message) -> None:
    form = build_form(questionnaire(item("f", "attachment", ext=[("maxSize", "valueDecimal", 10), ("mimeType", "valueCode", "text/plain")])))
    state = FormState.from_post(form, {}, {"q.f.r": FileStorage(io.BytesIO(content), filename="a", content_type=mime)})
    assert evaluate(form, state).node("f").errors == [message]


def test_draft_round_trip() -> None:
    form = build_form(questionnaire(item("a", "string"), item("g", "group", repeats=True, item=[item("q", "quantity")])))
    state = FormState.from_post(form, {"q.a.r": "x", "n.g.r": "2", "q.q.1": "5", "u.q.1": f"{UCUM}|kg"})
    state.from_record.add(("a", ()))
    restored = FormState.from_dict(state.to_dict())
    assert restored == state


def test_initial_values_and_initial_selected() -> None:
    q = questionnaire(item("a", "integer", initial=[{"valueInteger": 4}]),
                      item("c", "choice", answerOption=[{"valueString": "x"}, {"valueString": "y", "initialSelected": True}]))
    state = FormState.initial(build_form(q))
    assert state.values == {("a", ()): ["4"], ("c", ()): ["y"]}
    assert state.from_record == set()


PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-06", "name": [{"given": ["Ann"]}]}


def _weight_obs(value, when, subject="Patient/p1", status="final", code="29463-7"):
    return {"resourceType": "Observation", "status": status, "subject": {"reference": subject},
            "code": {"coding": [{"system": LOINC, "code": code}]}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": "kg", "system": UCUM, "code": "kg"}}


def test_initial_expression_reads_the_launch_patient_and_marks_it() -> None:
    form = build_form(find(LIBRARY_BASE + "previsit-intake"))
    prefill = populate(form, FillContext(resources={"patient": PATIENT}), now=NOW)
    assert prefill.values[("birth-date", ())] == ["1980-05-06"]
    assert ("birth-date", ()) in prefill.from_record
    state = FormState.initial(form, prefill)
    view = evaluate(form, state)
    assert view.node("birth-date").from_record
    # Editing the value drops the mark; leaving it keeps it.
    kept = FormState.from_post(form, {"q.birth-date.r": "1980-05-06"}, previous=state)
    changed = FormState.from_post(form, {"q.birth-date.r": "1981-01-01"}, previous=state)
    assert ("birth-date", ()) in kept.from_record and ("birth-date", ()) not in changed.from_record


def test_observation_link_period_takes_the_latest_recent_observation_of_this_patient() -> None:
    link = [("http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-observationLinkPeriod", "valueDuration",
             {"value": 30, "system": UCUM, "code": "d"}),
            ("questionnaire-unit", "valueCoding", {"system": UCUM, "code": "kg", "display": "kg"})]
    form = build_form(questionnaire(item("w", "decimal", code=[{"system": LOINC, "code": "29463-7"}], ext=link)))
    observations = [
        _weight_obs(70.5, "2026-11-01T08:00:00Z"),
        _weight_obs(71.25, "2026-11-20T08:00:00+01:00"),
        _weight_obs(99, "2026-11-21T08:00:00Z", subject="Patient/other"),
        _weight_obs(98, "2026-11-21T09:00:00Z", status="entered-in-error"),
        _weight_obs(97, "2026-11-21T10:00:00Z", code="8302-2"),
        _weight_obs(60, "2026-09-01T08:00:00Z"),
    ]
    prefill = populate(form, FillContext(resources={"patient": PATIENT}), observations, now=NOW)
    assert prefill.values == {("w", ()): ["71.25"]}
    assert populate(form, FillContext(resources={"patient": PATIENT}), observations[-1:], now=NOW).values == {}


def test_broken_initial_expression_is_a_recorded_problem_not_a_crash() -> None:
    q = questionnaire(item("x", "string", ext=[sdc_expression("sdc-questionnaire-initialExpression", "%nope.name")]))
    ctx = FillContext()
    assert populate(build_form(q), ctx, now=NOW).values == {}
    assert ctx.problems == ["x initialExpression: ValueError"]


def test_calculated_expression_with_variables_and_decimal_precision() -> None:
    q = questionnaire(
        item("h", "decimal"), item("w", "decimal"),
        item("bmi", "decimal", readOnly=True, ext=[
            ("variable", "valueExpression", {"name": "h", "language": "text/fhirpath",
                                             "expression": "%resource.repeat(item).where(linkId='h').answer.value"}),
            ("variable", "valueExpression", {"name": "w", "language": "text/fhirpath",
                                             "expression": "%resource.repeat(item).where(linkId='w').answer.value"}),
            sdc_expression("sdc-questionnaire-calculatedExpression", "(%w / (%h * %h)).round(1)")]),
    )
    _, _, view = run(q, {"q.h.r": "1.80", "q.w.r": "81", "q.bmi.r": "999"})
    assert view.node("bmi").answers == [("Decimal", Decimal("25.0"))]
    assert view.node("bmi").calculated


def test_read_only_answers_cannot_be_changed_by_a_post() -> None:
    form = build_form(questionnaire(item("id", "string", readOnly=True), item("free", "string")))
    draft = FormState.initial(form)
    draft.values[("id", ())] = ["server value"]
    tampered = FormState.from_post(form, {"q.id.r": "tampered", "q.free.r": "ok"}, previous=draft)
    assert tampered.values == {("id", ()): ["server value"], ("free", ()): ["ok"]}


def test_hostile_nested_repeat_counts_are_bounded() -> None:
    from smart_app.forms.engine import MAX_INSTANCES
    q = questionnaire(item("a", "group", repeats=True, item=[item("b", "group", repeats=True, item=[
        item("c", "group", repeats=True, item=[item("x", "string")])])]))
    form = build_form(q)
    data = {"n.a.r": "100", **{f"n.b.{i}": "100" for i in range(100)},
            **{f"n.c.{i}_{j}": "100" for i in range(100) for j in range(100)}}
    view = evaluate(form, FormState.from_post(form, data))  # 10^6 leaves if unbounded
    assert len(view.nodes) <= MAX_INSTANCES + 2 * 100 * 4
