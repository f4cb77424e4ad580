"""Find a press-note run paused for review on the Prefect server and resume it with a decision."""

from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run

from config.errors import KaryashalaError
from config.event import load_event


def paused_review_ids(event_id: str, kind: str) -> list[str]:
    """press-note runs of this event and kind waiting for their review form, oldest first."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["press-note"])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
            ),
        )
    found = []
    for run in sorted(runs, key=lambda r: r.created or 0):
        try:
            same_event = load_event(str(run.parameters.get("event", ""))).id == event_id
        except KaryashalaError:
            continue
        if same_event and run.parameters.get("kind") == kind:
            found.append(str(run.id))
    return found


def resume_review(flow_run_id: str, decision: dict[str, Any]) -> None:
    resume_flow_run(flow_run_id, run_input=decision)  # type: ignore[arg-type]
