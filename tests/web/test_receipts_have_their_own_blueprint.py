"""A submission's receipt and retries live in their own blueprint (both kinds of answers use them), at the same URLs."""
from __future__ import annotations


def test_the_receipt_and_its_retries_are_the_submissions_blueprint(make_app):
    app = make_app()
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/l/h1/submissions/s1", method="GET") == ("submissions.receipt", {"handle": "h1", "submission_id": "s1"})
    assert adapter.match("/l/h1/submissions/s1/deliver", method="POST")[0] == "submissions.deliver"
    assert adapter.match("/l/h1/submissions/s1/retry", method="POST")[0] == "submissions.retry"
    # Neither the questionnaires nor the medications blueprint serves anything about a submission.
    assert not [rule.rule for rule in app.url_map.iter_rules()
                if rule.endpoint.startswith(("questionnaires.", "medications.")) and "submission" in rule.rule]
