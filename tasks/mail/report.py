"""What a send-stage run reports, in the one JSON form `karyashala invite --json` prints."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from tasks.whatsapp.report import WhatsAppReport

StageDecision = Literal["approve", "hold", "reject"]


class StageApprovalOutcome(BaseModel):
    """The answer to a stage's approval form, kept with the stage's outcome."""

    decision: StageDecision | None = Field(description="None: nobody answered in time.")
    note: str | None = None
    at: datetime


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
    approval: StageApprovalOutcome | None = None
    stopped: str | None = None
    previews: str | None = None
    whatsapp: WhatsAppReport | None = Field(
        None, description="The stage on WhatsApp, where it reaches anyone that way."
    )
