"""What the launch home page offers, in one place: the pre-visit task providers in the order they are
shown, the EHR reads they need (run as the page's one read plan), and the clinician's summary
provider. The blueprints define the providers; only these lists put them on the page.
"""
from __future__ import annotations

from flask import Flask

from smart_app.forms.catalog import catalog_plan
from smart_app.web import medications, questionnaires, summary, visit
from smart_app.web.home import (HomeReads, TaskProvider, register_home_reads, register_summary_provider,
                                register_task_provider, register_visit_provider)

TASK_PROVIDERS: tuple[TaskProvider, ...] = (
    questionnaires.due_task,
    questionnaires.in_progress_task,
    questionnaires.completed_task,
    medications.medication_task,
)

HOME_READS: tuple[HomeReads, ...] = (
    catalog_plan,  # the questionnaire tasks' catalog
    medications.home_reads,
)


def init_app(app: Flask) -> None:
    """Put every task provider, the reads they need and the summary provider on the launch home page."""
    for plan in HOME_READS:
        register_home_reads(app, plan)
    for provider in TASK_PROVIDERS:
        register_task_provider(app, provider)
    register_summary_provider(app, summary.summary_for)
    register_visit_provider(app, visit.visit_panel)  # the next visit and the assigned forms, above the tasks
