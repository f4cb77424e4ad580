"""What the flows and the orchestrating parts of tasks/ hand to Prefect tasks."""

from typing import TypeVar, cast

from prefect.utilities.annotations import quote

T = TypeVar("T")


def untraversed(value: T) -> T:
    """Pass a large value (a roster, a batch) to a task without Prefect walking every item in it.

    Prefect looks through task inputs for futures to wait on; on 100,000 rows that walk costs
    more than the work itself.
    """
    return cast(T, quote(value))
