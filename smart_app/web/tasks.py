"""What the launch home page offers, in one place: the pre-visit task providers in the order they are
shown, and the clinician's summary provider. The blueprints define the providers; only this list
puts them on the page.
"""
from __future__ import annotations

from flask import Flask

from smart_app.web import medications, questionnaires, summary
from smart_app.web.home import TaskProvider, register_summary_provider, register_task_provider

TASK_PROVIDERS: tuple[TaskProvider, ...] = (
    questionnaires.due_task,
    questionnaires.in_progress_task,
    questionnaires.completed_task,
    medications.medication_task,
)


def init_app(app: Flask) -> None:
    """Put every task provider and the summary provider on the launch home page."""
    for provider in TASK_PROVIDERS:
        register_task_provider(app, provider)
    register_summary_provider(app, summary.summary_for)
