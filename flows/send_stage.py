"""send-stage: one invitation stage, in batches, each message recorded, nothing sent twice."""

from uuid import UUID

from prefect import flow, pause_flow_run
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput

from config.event import Event, Stage, load_event
from config.settings import Settings, load_settings
from flows.common import current_run_id, untraversed
from store.models import utc_now
from tasks.mail.audience import check_stage_open
from tasks.mail.ledger import StageCounts, stage_counts
from tasks.mail.report import StageReport
from tasks.mail.tasks import (
    claim_batch,
    plan_stage,
    preview_stage,
    publish_stage_report,
    send_batch,
    wait_for_held_claims,
)


class StageApproval(RunInput):
    """The form shown in the Prefect UI before a stage that needs approval goes out."""

    approve: bool = False
    note: str = ""


@flow(name="send-stage", flow_run_name="send-stage {event} {stage}")
def send_stage(event: str, stage: str, dry_run: bool = False, force: bool = False) -> StageReport:
    """Send one stage of an event's invitations by email.

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
        stage: The stage id, e.g. invitation or reminder.
        dry_run: Render every message and write .eml previews; send nothing.
        force: Send even though the event is over (only a stage marked after_event goes then).
    """
    event_config = load_event(event)
    stage_config = event_config.stage(stage)
    if not (dry_run or force):
        check_stage_open(event_config, stage_config, utc_now())
    settings = load_settings()
    counts = plan_stage(settings.store_url, event_config, stage_config, settings.mail_from)
    approved: bool | None = None
    previews: str | None = None
    sent_this_run = 0
    stopped: str | None = None
    if dry_run or stage_config.requires_approval:
        preview = preview_stage(settings.store_url, event_config, stage_config, counts)
        previews = str(preview.folder)
        if not dry_run:
            approved = ask_approval(preview.markdown, settings)
            if not approved:
                stopped = "not approved: nothing was sent"
    if not dry_run and approved is not False:
        sent_this_run, stopped = send_due(event_config, stage_config, counts, settings)
    final = stage_counts(settings.store_url, event_config.id, stage)
    if stopped is None and final.pending and not dry_run and approved is not False:
        stopped = f"{final.pending} message(s) were claimed by another run meanwhile"
    report = StageReport(
        event_id=event_config.id,
        stage=stage,
        sent=final.sent,
        failed=final.failed,
        pending=final.pending,
        skipped=final.skipped,
        sent_this_run=sent_this_run,
        dry_run=dry_run,
        approved=approved,
        stopped=stopped,
        previews=previews,
    )
    if not dry_run:
        publish_stage_report(report)
    return report


def ask_approval(preview: str, settings: Settings) -> bool:
    """Pause for the stage-approval form; no answer in time is a no."""
    try:
        decision = pause_flow_run(
            wait_for_input=StageApproval.with_initial_data(description=preview, approve=False),
            timeout=settings.approval_timeout_seconds,
            poll_interval=2,
        )
    except FlowPauseTimeout:
        return False
    return decision.approve


def send_due(
    event: Event, stage: Stage, counts: StageCounts, settings: Settings
) -> tuple[int, str | None]:
    """Claim and send batches until none is due or sending has to stop; returns how many this
    run sent and why it stopped short, if it did."""
    run_id = current_run_id()
    total = max(counts.pending + counts.failed - counts.failed_permanent, 1)
    progress: UUID = create_progress_artifact(  # type: ignore[assignment]
        progress=0.0, key=f"stage-progress-{event.id}-{stage.id}", description=f"Sending {stage.id}"
    )
    done = sent = 0
    while True:
        while batch := claim_batch(
            settings.store_url,
            event.id,
            stage.id,
            settings.batch_size,
            run_id,
            settings.claim_lease_seconds,
        ):
            result = send_batch(settings.store_url, event, stage, untraversed(batch))
            done += len(batch)
            sent += result.sent
            update_progress_artifact(progress, progress=min(100.0, 100.0 * done / total))
            if result.stopped:
                return sent, result.stopped
        retry, held = wait_for_held_claims(
            settings.store_url, event.id, stage.id, run_id, settings.claim_lease_seconds
        )
        if not retry:
            return sent, held
