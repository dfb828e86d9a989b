"""OperationOutcome building and the one error type every FHIR layer raises."""
from __future__ import annotations

from typing import Any

# FHIR issue type codes (http://hl7.org/fhir/valueset-issue-type.html) by HTTP status,
# used when a caller names only the status.
_DEFAULT_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    422: "processing",
    429: "throttled",
    500: "exception",
    503: "transient",
}


class FhirError(Exception):
    """A FHIR request that cannot be honoured; carries its HTTP status and issues."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        *,
        code: str | None = None,
        expression: list[str] | None = None,
        issues: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Describe the failure as a status plus one (or several) OperationOutcome issues."""
        super().__init__(diagnostics)
        self.status = status
        self.headers = dict(headers or {})
        if issues:
            self.issues = issues
        else:
            self.issues = [issue(diagnostics, code=code or _DEFAULT_CODE.get(status, "processing"),
                                 expression=expression)]

    def outcome(self) -> dict[str, Any]:
        """Return the OperationOutcome resource for this error."""
        return operation_outcome(self.issues)


def issue(
    diagnostics: str,
    *,
    code: str = "processing",
    severity: str = "error",
    expression: list[str] | None = None,
) -> dict[str, Any]:
    """Build one OperationOutcome.issue."""
    item: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        item["expression"] = list(expression)
    return item


def operation_outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    """Wrap issues in an OperationOutcome resource."""
    return {"resourceType": "OperationOutcome", "issue": issues}


def informational(diagnostics: str) -> dict[str, Any]:
    """Return an OperationOutcome reporting success (for Prefer: return=OperationOutcome)."""
    return operation_outcome([issue(diagnostics, code="informational", severity="information")])
