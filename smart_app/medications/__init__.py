"""Pure medication-review core: FHIR medication records -> plain-language rows -> write-back resources.

No I/O here except reading the bundled questionnaire file on first use; the package's one I/O half is
`medications.reads` (the one search wave, through `smart_app.ehr`). A view uses the core as:

    found = [*fhir.search("MedicationRequest", [("patient", pid), ("_include", "MedicationRequest:medication"),
                                                ("_include", "MedicationRequest:requester")]),
             *fhir.search("MedicationStatement", [("patient", pid)])]
    lists = build_medication_list(found)            # .current to review, .past to show apart
    review, errors = parse_review(lists.current, request.form)
    draft = review_form_values(request.form)         # what to keep as a draft
    qr = to_questionnaire_response(review, meta)     # meta: ReviewMeta from the launch
    observations = adherence_observations(review, meta)
    differences = clinician_diff(lists.current, latest_qr)
"""
from .diff import NotAMedicationReview, clinician_diff
from .dosage import describe_dosage, describe_dosages
from .model import (
    STATUS_LABELS,
    STOP_REASON_LABELS,
    AddedMedicine,
    Coding,
    Difference,
    MedicationList,
    MedicationRow,
    MedicineReport,
    Review,
    ReviewMeta,
    SourceRef,
)
from .questionnaire import canonical as questionnaire_canonical
from .questionnaire import known_versions as questionnaire_versions
from .questionnaire import load_questionnaire
from .report import ADD_ACTION, added_block_count, added_field_name, field_name, parse_review, review_form_values
from .resources import PENDING_RESPONSE_REF, adherence_observations, fill_response_ref, to_questionnaire_response
from .rows import UNKNOWN_MEDICINE, build_medication_list, past_rows, review_rows

__all__ = [
    "ADD_ACTION",
    "PENDING_RESPONSE_REF",
    "STATUS_LABELS",
    "STOP_REASON_LABELS",
    "UNKNOWN_MEDICINE",
    "AddedMedicine",
    "Coding",
    "Difference",
    "MedicationList",
    "MedicationRow",
    "MedicineReport",
    "NotAMedicationReview",
    "Review",
    "ReviewMeta",
    "SourceRef",
    "added_block_count",
    "added_field_name",
    "adherence_observations",
    "build_medication_list",
    "clinician_diff",
    "describe_dosage",
    "describe_dosages",
    "field_name",
    "fill_response_ref",
    "parse_review",
    "past_rows",
    "load_questionnaire",
    "questionnaire_canonical",
    "questionnaire_versions",
    "review_form_values",
    "review_rows",
    "to_questionnaire_response",
]
