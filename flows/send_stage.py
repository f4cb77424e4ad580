"""send-stage: one invitation stage, in batches, each message recorded, nothing sent twice."""

from uuid import UUID, uuid4

from prefect import flow, pause_flow_run
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import get_run_context
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput

from config.event import load_event
from config.settings import load_settings
from flows.inputs import whole
from tasks.ledger import claim_batch, plan_stage, stage_counts
from tasks.smtp_send import send_batch
from tasks.stage_report import StageReport, preview_stage, publish_stage_report


class StageApproval(RunInput):
    """The form shown in the Prefect UI before a stage that needs approval goes out."""

    approve: bool = False
    note: str = ""


def current_run_id() -> str:
    context = get_run_context()
    flow_run = getattr(context, "flow_run", None)
    return str(flow_run.id) if flow_run is not None else uuid4().hex


@flow(name="send-stage", flow_run_name="send-stage {event} {stage}")
def send_stage(event: str, stage: str, dry_run: bool = False) -> StageReport:
    """Send one stage of an event's invitations by email.

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
        stage: The stage id, e.g. invitation or reminder.
        dry_run: Render every message and write .eml previews; send nothing.
    """
    event_config = load_event(event)
    stage_config = event_config.stage(stage)
    settings = load_settings()
    url = settings.store_url
    counts = plan_stage(url, event_config, stage_config, settings.mail_from)
    approved: bool | None = None
    previews: str | None = None
    if dry_run or stage_config.requires_approval:
        preview = preview_stage(url, event_config, stage_config, counts)
        previews = str(preview.folder)
        if dry_run:
            return StageReport(
                event_id=event_config.id, stage=stage, sent=counts.sent, failed=counts.failed,
                pending=counts.pending, skipped=counts.skipped, dry_run=True, previews=previews,
            )  # fmt: skip
        try:
            decision = pause_flow_run(
                wait_for_input=StageApproval.with_initial_data(
                    description=preview.markdown, approve=False
                ),
                timeout=settings.approval_timeout_seconds,
                poll_interval=2,
            )
            approved = decision.approve
        except FlowPauseTimeout:
            approved = False
        if not approved:
            final = stage_counts(url, event_config.id, stage)
            report = StageReport(
                event_id=event_config.id, stage=stage, sent=final.sent, failed=final.failed,
                pending=final.pending, skipped=final.skipped, approved=False, previews=previews,
                stopped="not approved: nothing was sent",
            )  # fmt: skip
            publish_stage_report(report)
            return report

    run_id = current_run_id()
    total = max(counts.pending + counts.failed - counts.failed_permanent, 1)
    progress: UUID = create_progress_artifact(  # type: ignore[assignment]
        progress=0.0, key=f"stage-progress-{event_config.id}-{stage}",
        description=f"Sending {stage}",
    )  # fmt: skip
    done = sent = 0
    stopped: str | None = None
    while True:
        batch = claim_batch(
            url, event_config.id, stage, settings.batch_size, run_id, settings.claim_lease_seconds
        )
        if not batch:
            break
        result = send_batch(url, event_config, stage_config, whole(batch))
        done += len(batch)
        sent += result.sent
        update_progress_artifact(progress, progress=min(100.0, 100.0 * done / total))
        if result.stopped:
            stopped = result.stopped
            break
    final = stage_counts(url, event_config.id, stage)
    report = StageReport(
        event_id=event_config.id, stage=stage, sent=final.sent, failed=final.failed,
        pending=final.pending, skipped=final.skipped, sent_this_run=sent, approved=approved,
        stopped=stopped, previews=previews,
    )  # fmt: skip
    publish_stage_report(report)
    return report
