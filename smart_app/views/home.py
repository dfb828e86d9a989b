"""The server list (`/`) and the launch home page (`/l/<handle>/`) with its pre-visit task entry points.

Other blueprints add tasks with `register_task_provider(app, provider)`; a provider gets the
Launch and returns a PreVisitTask (or None to stay hidden for this launch).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

from flask import Blueprint, Flask, copy_current_request_context, current_app, render_template

from smart_app.launch import banner
from smart_app.launch.runtime import runtime
from smart_app.launch.session import Launch, current_launch
from smart_app.pools import process_pool

if TYPE_CHECKING:
    from smart_app.fhir import FhirError

bp = Blueprint("home", __name__)
TASKS = "previsit_task_providers"
# Providers and the banner run on a per-process pool (smart_app/pools.py). Providers only submit
# leaf reads, so this pool cannot deadlock; when it is busy a page waits its turn instead of
# adding threads without bound.
PAGE_THREADS = 32


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
SUMMARY = "previsit_summary_provider"


def register_summary_provider(app: Flask, provider: Callable[[Launch], Any]) -> None:
    """Set the one provider of the clinician's pre-visit summary (shown above the tasks, flags first)."""
    app.extensions[SUMMARY] = provider


VISIT = "previsit_visit_provider"


def register_visit_provider(app: Flask, provider: Callable[[Launch], Any]) -> None:
    """Set the one provider of the visit panel (the next visit and the forms the care team asked for)."""
    app.extensions[VISIT] = provider


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
    launch.fhir  # build the client once, before the threads share it
    providers = current_app.extensions.get(TASKS, [])
    # The banner reads and every task provider's reads go out at the same time: one round, no
    # chain. Each provider runs in its own copy of the request context (url_for, config).
    pool = process_pool("home-page", PAGE_THREADS)
    page = pool.submit(home_model, launch)
    pending = [pool.submit(copy_current_request_context(provider), launch) for provider in providers]
    summary_provider = current_app.extensions.get(SUMMARY)
    summary = pool.submit(copy_current_request_context(summary_provider), launch) if summary_provider else None
    visit_provider = current_app.extensions.get(VISIT)
    visit = pool.submit(copy_current_request_context(visit_provider), launch) if visit_provider else None
    tasks = [task for task in (f.result() for f in pending) if task is not None]
    model = page.result()
    return render_template("home/launch.html", launch=launch, ctx=launch.context, tasks=tasks,
                           summary=summary.result() if summary else None,
                           visit_panel=visit.result() if visit else None, **model)


def home_model(launch: Launch) -> dict[str, Any]:
    """Read what the page needs in one parallel round and summarise it (no Flask context needed)."""
    ctx = launch.context
    wanted: list[tuple[str, str]] = []
    if ctx.need_patient_banner and ctx.patient_id and ctx.permissions.can_read("Patient"):
        wanted.append(("patient", f"Patient/{ctx.patient_id}"))
    if ctx.encounter_id and ctx.permissions.can_read("Encounter"):
        wanted.append(("encounter", f"Encounter/{ctx.encounter_id}"))
    results = dict(zip((k for k, _ in wanted), launch.fhir.read_many([p for _, p in wanted]))) if wanted else {}
    patient, encounter = results.get("patient"), results.get("encounter")
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
