"""FHIR decimals keep their digits on the way out: 70.50 is sent as 70.50, never 70.5."""
from __future__ import annotations

from decimal import Decimal

from tests.fhir.conftest import fhir_response


def test_decimal_answers_are_sent_with_their_exact_digits(fhir_server, make_client):
    seen: list[bytes] = []

    def record(request):
        seen.append(request.get_data())
        return fhir_response({"resourceType": "Observation", "id": "o1"}, status=201,
                             headers={"Location": fhir_server.url_for("/fhir/Observation/o1/_history/1")})

    fhir_server.expect_request("/fhir/Observation", method="POST").respond_with_handler(record)
    weight = {"resourceType": "Observation", "status": "final", "code": {"text": "Body weight"},
              "valueQuantity": {"value": Decimal("70.50"), "unit": "kg"}}
    make_client().create(weight)
    assert b'"value":70.50' in seen[0]
    assert b"70.5," not in seen[0] and b"70.5}" not in seen[0]
