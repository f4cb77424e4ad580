"""What the flows share: handing large values to tasks, and the id of the run."""

from typing import TypeVar, cast
from uuid import uuid4

from prefect.context import get_run_context
from prefect.utilities.annotations import quote

T = TypeVar("T")


def untraversed(value: T) -> T:
    """Pass a large value (a roster, a batch) to a task without Prefect walking every item in it.

    Prefect looks through task inputs for futures to wait on; on 100,000 rows that walk costs
    more than the work itself.
    """
    return cast(T, quote(value))


def current_run_id() -> str:
    """The flow run's id, which claims and ledger rows record; a fresh one outside a run."""
    context = get_run_context()
    flow_run = getattr(context, "flow_run", None)
    return str(flow_run.id) if flow_run is not None else uuid4().hex
