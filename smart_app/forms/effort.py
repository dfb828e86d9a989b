"""How long a form takes, roughly, from its items: for "2 forms, about 6 minutes" on the home page.

Seconds per question by type are rough reading-and-answering times (a choice is quick, free text is
slow). Only the questions a person is asked from the start count: ones shown by an earlier answer,
calculated, read-only or hidden ones do not, and answered ones are already done.
"""
from __future__ import annotations

import math

from .model import Form, FormItem
from .state import FormState

SECONDS_BY_TYPE = {"boolean": 5, "choice": 8, "open-choice": 10, "integer": 12, "decimal": 12, "quantity": 15,
                   "date": 15, "dateTime": 15, "time": 10, "string": 20, "url": 20, "reference": 15, "text": 45,
                   "attachment": 40}
DEFAULT_SECONDS = 15


def _asked_from_the_start(item: FormItem) -> bool:
    """A question the person fills in, shown without depending on another answer."""
    if not item.is_question or item.read_only or item.hidden or item.calculated_expression is not None:
        return False
    return not any(a.enable_when or a.enable_when_expression is not None or a.hidden
                   for a in (item, *item.ancestors()))


def seconds_left(form: Form, state: FormState | None = None) -> int:
    """Rough seconds to answer what is still unanswered (all of it without a `state`)."""
    answered = {key[0] for key, values in (state.values.items() if state else ()) if values}
    return sum(SECONDS_BY_TYPE.get(item.type, DEFAULT_SECONDS) for item in form.walk()
               if _asked_from_the_start(item) and item.link_id not in answered)


def minutes(seconds: int) -> int:
    """Whole minutes as people say them: at least 1 for anything left, rounded up."""
    return max(1, math.ceil(seconds / 60)) if seconds > 0 else 0
