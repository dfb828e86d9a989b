"""Pure SDC form filler: Questionnaire -> form model -> answers, behaviour, validation,
QuestionnaireResponse and extracted Observations. No HTTP and no Flask in the engine; the package's
I/O halves read through `smart_app.ehr`: `catalog` (what to offer and where each form stands),
`queries` (x-fhir-query on the launch's server) and `terminology` (ValueSet/$expand).

Typical use in a view::

    form = build_form(questionnaire)
    state = FormState.from_post(form, request.form, request.files, previous=draft)
    state.apply_action(form, request.form.get("action", ""))   # add/remove repeats and files
    # or, on first render: FormState.initial(form, populate(form, ctx, recent_observations))
    view = evaluate(form, state, ctx)          # validate=False on a first render
    render_template("questionnaires/_form.html", view=view, action=..., csrf_field=...)
    qr = to_questionnaire_response(form, state, ResponseMeta(...), ctx, view=view)
    observations = extract_observations(form, qr, ExtractMeta(...))
    rows = summarize(view)                     # the review-before-sending page

FillContext.resources uses SDC launchContext names: "patient", "encounter", "user".
Decimals are Decimal throughout; serialise with fhirjson.dumps (json.dumps cannot).
"""
from .engine import FieldError, FormView, ItemView, evaluate
from .errors import QuestionnaireError, QuestionnaireTooLarge, UnsupportedQuestionnaire
from .expressions import FillContext
from .extraction import DERIVED_FROM_PLACEHOLDER, ExtractMeta, extract_observations
from smart_app.ehr.fhirjson import dumps, loads
from .library import LIBRARY_BASE, find, load_library
from .model import MAX_DEPTH, MAX_ITEMS, Form, FormItem, add_reference_candidates, build_form
from .prefill import populate
from .response import ResponseMeta, to_questionnaire_response
from .scoring import GAD7, PHQ9, Score, band, score
from .state import FormState, Prefill, field_name
from .summary import SummaryRow, answer_text, summarize

__all__ = [
    "DERIVED_FROM_PLACEHOLDER", "ExtractMeta", "add_reference_candidates", "FieldError", "FillContext", "Form", "FormItem",
    "FormState", "FormView", "GAD7", "ItemView", "LIBRARY_BASE", "MAX_DEPTH", "MAX_ITEMS", "PHQ9",
    "Prefill", "QuestionnaireError", "QuestionnaireTooLarge", "ResponseMeta", "Score",
    "UnsupportedQuestionnaire", "band", "build_form", "dumps", "evaluate", "extract_observations",
    "SummaryRow", "answer_text", "summarize", "field_name", "find", "load_library", "loads", "populate", "score", "to_questionnaire_response",
]
