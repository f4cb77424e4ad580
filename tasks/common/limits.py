"""Global rate limits on the Prefect server, shared by every worker and run."""

from prefect.concurrency.sync import rate_limit


def take_rate_limit(enabled: bool, name: str) -> None:
    """Wait for a slot of the named limit when deployed; strict: a missing limit is an error,
    never a silent pass (`karyashala deploy` creates them)."""
    if enabled:
        rate_limit(name, occupy=1, strict=True)
