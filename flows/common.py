"""What the flows share: the id of the run."""

from uuid import uuid4

from prefect.context import get_run_context


def current_run_id() -> str:
    """The flow run's id, which claims and ledger rows record; a fresh one outside a run."""
    context = get_run_context()
    flow_run = getattr(context, "flow_run", None)
    return str(flow_run.id) if flow_run is not None else uuid4().hex
