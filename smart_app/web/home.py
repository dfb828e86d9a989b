"""The server list (`/`) and the launch home page (`/l/<handle>/`) with its pre-visit task entry points.

The task list is `web/tasks.py` (TASK_PROVIDERS, registered with `register_task_provider`); a provider gets the
Launch and returns a PreVisitTask (or None to stay hidden for this launch). The EHR reads the
providers need are listed there too (HOME_READS, registered with `register_home_reads`): the page
runs them, with the banner's, as one read plan (one batch, or one parallel wave), before any provider runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Mapping

from flask import Blueprint, Flask, current_app, render_template

from smart_app.ehr.reads import Read, ReadPlan
from smart_app.launch import banner
from smart_app.launch.runtime import runtime
from smart_app.launch.session import Launch, current_launch

if TYPE_CHECKING:
    from smart_app.ehr.client import FhirError

bp = Blueprint("home", __name__)
TASKS = "previsit_task_providers"
HOME_READS = "previsit_home_reads"


def N_(text: str) -> str:
    """Mark text for the catalog; the page translates it where it is shown."""
    return text


class TaskStatus(Enum):
    """Where a task stands for this person, shown as a tag; the value is (css class, words)."""

    TO_DO = ("todo", N_("To do"))
    IN_PROGRESS = ("progress", N_("In progress"))
    DONE = ("done", N_("Completed"))

    @property
    def css_class(self) -> str:
        """The tag's style."""
        return self.value[0]

    @property
    def label(self) -> str:
        """The tag's words."""
        return self.value[1]


@dataclass(frozen=True)
class PreVisitTask:
    """One entry point on the home page.

    `unavailable_reason` greys it out with a plain reason; `status` tags it (no tag when the
    provider cannot tell, rather than a guessed one).
    """

    title: str
    description: str
    url: str
    unavailable_reason: str | None = None
    status: TaskStatus | None = None


TaskProvider = Callable[[Launch], "PreVisitTask | None"]
HomeReads = Callable[[Launch], ReadPlan]
SUMMARY = "previsit_summary_provider"


def register_summary_provider(app: Flask, provider: Callable[[Launch], Any]) -> None:
    """Set the one provider of the clinician's pre-visit summary (shown above the tasks, flags first)."""
    app.extensions[SUMMARY] = provider


VISIT = "previsit_visit_provider"


def register_visit_provider(app: Flask, provider: Callable[[Launch], Any]) -> None:
    """Set the one provider of the visit panel (the next visit and the forms the care team asked for)."""
    app.extensions[VISIT] = provider


def register_home_reads(app: Flask, plan: HomeReads) -> None:
    """Add the EHR reads a provider needs to the home page's one read plan."""
    app.extensions.setdefault(HOME_READS, []).append(plan)


def register_task_provider(app: Flask, provider: TaskProvider) -> None:
    """Add a pre-visit task provider (called in registration order when the home page renders)."""
    app.extensions.setdefault(TASKS, []).append(provider)


@bp.get("/")
def index() -> str:
    """The registered FHIR servers, with standalone-launch links only where a standalone launch can work."""
    rt = runtime()
    servers = [(server, server.standalone_launchable and rt.standalone_possible(server.iss))
               for server in rt.settings.fhir_servers]
    return render_template("home/index.html", servers=servers)


@bp.get("/l/<handle>/")
def launch_home(handle: str) -> str:
    """The launch's home page: banner when asked for, encounter, user, and the pre-visit tasks."""
    launch = current_launch(handle)
    plan = banner_plan(launch)
    for more in current_app.extensions.get(HOME_READS, []):
        plan = plan + more(launch)
    found = launch.reads.fetch(plan)  # every read of the page in one wave; the providers then find theirs done
    tasks = [task for task in (provider(launch) for provider in current_app.extensions.get(TASKS, [])) if task is not None]
    summary_provider = current_app.extensions.get(SUMMARY)
    visit_provider = current_app.extensions.get(VISIT)
    return render_template("home/launch.html", launch=launch, ctx=launch.context, tasks=tasks,
                           summary=summary_provider(launch) if summary_provider else None,
                           visit_panel=visit_provider(launch) if visit_provider else None, **home_model(launch, found))


def banner_plan(launch: Launch) -> ReadPlan:
    """The banner's reads: the patient when the EHR asks for a banner, and the encounter."""
    ctx = launch.context
    return ReadPlan.of(
        Read.resource("patient", "Patient", ctx.patient_id)
        if ctx.need_patient_banner and ctx.patient_id and ctx.permissions.can_read("Patient") else None,
        Read.resource("encounter", "Encounter", ctx.encounter_id)
        if ctx.encounter_id and ctx.permissions.can_read("Encounter") else None)


def home_model(launch: Launch, found: Mapping[str, Any]) -> dict[str, Any]:
    """Summarise the banner's reads for the page (a failed read says so instead of crashing it)."""
    ctx = launch.context
    patient, encounter = found.get("patient"), found.get("encounter")
    return {
        "patient_banner": banner.patient_banner(patient) if isinstance(patient, dict) else None,
        "patient_unavailable": _failed(patient),
        "encounter": banner.encounter_summary(encounter) if isinstance(encounter, dict) else None,
        "encounter_unavailable": _failed(encounter),
        "user_label": banner.user_label(ctx.user_kind),
    }


def _failed(result: "dict | FhirError | None") -> bool:
    """True when a read was attempted and failed (the page says so instead of crashing)."""
    return result is not None and not isinstance(result, dict)
