"""What a stage run shows: dry-run previews (.eml files, masked samples) and outcome counts."""

from dataclasses import dataclass
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from config.event import Event, Stage
from config.settings import load_settings
from store.models import utc_now
from tasks.ledger import StageCounts, due_recipients
from tasks.mail_render import build_message, calendars, render_mail, wire_bytes
from tasks.privacy import mask_contacts
from tasks.smtp_send import sender_for

SAMPLES = 3


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


@dataclass(frozen=True)
class Preview:
    folder: Path
    count: int
    markdown: str


@task(name="preview-stage", cache_policy=NO_CACHE)
def preview_stage(url: str, event: Event, stage: Stage, counts: StageCounts) -> Preview:
    """Render every message a run would send now, as .eml files; nothing is sent."""
    settings = load_settings()
    sender = sender_for(settings)
    folder = settings.event_output_dir(event.id) / "previews" / stage.id
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.eml"):
        old.unlink()
    samples: list[tuple[str, str, str]] = []
    now = utc_now()
    ics = calendars(event, stage, sender, now)
    recipients = due_recipients(url, event.id, stage.id, settings.claim_lease_seconds)
    for recipient in recipients:
        rendered = render_mail(event, stage, recipient, sender)
        message = build_message(
            event, stage, recipient, rendered, sender, now, ics.get(recipient.language)
        )
        (folder / f"{recipient.ledger_id}.eml").write_bytes(wire_bytes(message))
        if len(samples) < SAMPLES:
            samples.append((recipient.language, rendered.subject, mask_contacts(rendered.text)))
    lines = [
        f"# {event.id} / {stage.id}: preview",
        "",
        f"To send now: **{len(recipients)}**; already sent: {counts.sent}; "
        f"failed: {counts.failed}; skipped: "
        + (", ".join(f"{k} {v}" for k, v in sorted(counts.skipped.items())) or "none"),
        "",
        f"All {len(recipients)} messages are rendered as .eml files in the event's previews "
        "folder. Samples (emails and phones masked):",
    ]
    for language, subject, text in samples:
        lines += ["", f"## [{language}] {subject}", "", "```", text.strip(), "```"]
    markdown = "\n".join(lines)
    create_markdown_artifact(
        key=f"stage-preview-{event.id}-{stage.id}",
        markdown=markdown,
        description=f"Preview of stage {stage.id}",
    )
    return Preview(folder=folder, count=len(recipients), markdown=markdown)


@task(name="publish-stage-report", cache_policy=NO_CACHE)
def publish_stage_report(report: StageReport) -> None:
    rows = [
        {"outcome": "sent", "count": report.sent},
        {"outcome": "failed", "count": report.failed},
        {"outcome": "pending", "count": report.pending},
        *({"outcome": f"skipped: {k}", "count": v} for k, v in sorted(report.skipped.items())),
    ]
    create_table_artifact(
        key=f"stage-outcome-{report.event_id}-{report.stage}",
        table=rows,
        description=f"Stage {report.stage}: messages by outcome"
        + (f" (stopped: {report.stopped})" if report.stopped else ""),
    )
