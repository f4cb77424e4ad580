"""What a send-stage run reports, in the one JSON form `karyashala invite --json` prints."""

from pydantic import BaseModel


class StageReport(BaseModel):
    """The outcome of one send-stage run, as `karyashala invite --json` prints it."""

    event_id: str
    stage: str
    sent: int
    failed: int
    pending: int
    skipped: dict[str, int]
    sent_this_run: int = 0
    dry_run: bool = False
    approved: bool | None = None
    stopped: str | None = None
    previews: str | None = None
