"""send-stage: one invitation stage, in batches, each message recorded, nothing sent twice."""

import time
from uuid import UUID

from prefect import flow, get_client, get_run_logger, pause_flow_run
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.exceptions import FlowPauseTimeout
from prefect.futures import wait
from prefect.input import RunInput
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from config.event import Event, Stage, load_event
from config.settings import Settings, load_settings
from flows.common import current_run_id
from flows.forms import artifact_link, ended_as, with_initial_data
from store.models import utc_now
from tasks.common.privacy import mask_contacts
from tasks.common.task_inputs import untraversed
from tasks.mail.audience import check_stage_open
from tasks.mail.ledger import StageCounts, sent_in_last_day, stage_counts
from tasks.mail.preview import Preview
from tasks.mail.report import StageApprovalOutcome, StageDecision, StageReport
from tasks.mail.smtp import QUOTA_REACHED, BatchResult
from tasks.mail.tasks import (
    plan_stage,
    preview_artifact_key,
    preview_stage,
    publish_stage_report,
    send_batch,
    wait_for_held_claims,
)
from tasks.whatsapp.tasks import CoordinatorHandOff, plan_whatsapp_channel, whatsapp_report

DRY_RUN_TAG = "dry-run"
# Threads for the batches a wave sends at once: the most KARYASHALA_SMTP_CONNECTIONS allows.
SENDING_THREADS = 16
# The progress bar moves at most this often: each move is a call to the Prefect API.
PROGRESS_EVERY_SECONDS = 2.0
NO_DECISION = "no decision in time: nothing was sent"
# How the runs list names a run a person did not approve (a run that sends ends "Completed"),
# and why it says it stopped. A run whose pause ran out ends Failed: Prefect allows no other end.
NOT_SENT: dict[StageDecision, tuple[str, str]] = {
    "hold": ("Held", "held: nothing was sent; run the stage again to send it"),
    "reject": ("Rejected", "rejected: nothing was sent"),
}


class StageApproval(RunInput):
    """The form shown in the Prefect UI before a stage goes out: nothing is sent without an
    approval."""

    decision: StageDecision = Field(
        default="hold",
        description="**approve**: send the messages due now. **hold**: send nothing now; run "
        "the stage again to send it. **reject**: send nothing; the run ends as Rejected.",
    )
    note: str = Field(
        default="",
        description="Why, in a line: kept in the run's log and in the stage's outcome (Artifacts).",
    )


def run_name() -> str:
    """The run's name in the UI, which says so when it is a dry run."""
    context = FlowRunContext.get()
    parameters = (context.parameters if context else None) or {}
    name = f"send-stage {parameters.get('event')} {parameters.get('stage')}"
    return f"{name} (dry run)" if parameters.get("dry_run") else name


# How WhatsApp messages leave: by the coordinators' own phones.
WHATSAPP = CoordinatorHandOff()


@flow(
    name="send-stage",
    flow_run_name=run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=SENDING_THREADS),  # type: ignore[arg-type]
)
def send_stage(event: str, stage: str, dry_run: bool = False, force: bool = False) -> StageReport:
    """Send one stage of an event's invitations by email, and hand its WhatsApp messages to the
    district coordinators (to everyone when the stage names WhatsApp, else to those no mail
    reaches).

    A run started by hand from a deployment (not by its schedule) shows a preview and waits for
    an approval first, as does a stage marked requires_approval.

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
        stage: The stage id, e.g. invitation or reminder.
        dry_run: Render every message and write .eml previews; send nothing.
        force: Send even though the event is over (only a stage marked after_event goes then).
    """
    event_config = load_event(event)
    stage_config = event_config.stage(stage)
    if dry_run:
        tag_this_run(DRY_RUN_TAG)
    if not (dry_run or force):
        check_stage_open(event_config, stage_config, utc_now())
    settings = load_settings()
    counts = plan_stage(settings.store_url, event_config, stage_config, settings.mail_from)
    on_whatsapp = plan_whatsapp_channel(
        settings.store_url, event_config, stage_config, settings.mail_from
    )
    asks = not dry_run and (stage_config.requires_approval or started_by_hand_from_deployment())
    approval: StageApprovalOutcome | None = None
    previews: str | None = None
    sent_this_run = 0
    stopped: str | None = None
    if dry_run or asks:
        preview = preview_stage(settings.store_url, event_config, stage_config, counts)
        previews = str(preview.folder)
        get_run_logger().info("Every message due now is previewed in %s", previews)
        if asks:
            approval = ask_approval(event_config, stage_config, preview, counts, settings)
    decision = approval.decision if approval else "approve"
    if decision is None:
        stopped = NO_DECISION
    elif decision != "approve":
        stopped = NOT_SENT[decision][1]
    elif not dry_run:
        sent_this_run, stopped = send_due(event_config, stage_config, counts, settings)
    whatsapp = whatsapp_report(on_whatsapp.counts)
    if decision == "approve" and not dry_run and whatsapp.people:
        whatsapp = WHATSAPP.deliver(
            event_config, stage_config, on_whatsapp, settings, current_run_id()
        )
    final = stage_counts(settings.store_url, event_config.id, stage)
    if stopped is None and final.pending and not dry_run:
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
        approved=None if approval is None else decision == "approve",
        approval=approval,
        stopped=stopped,
        previews=previews,
        whatsapp=whatsapp if whatsapp.people or whatsapp.skipped else None,
    )
    if dry_run:
        return report
    publish_stage_report(report)
    if decision is not None and decision != "approve":
        name, why = NOT_SENT[decision]
        return ended_as(name, why, report)
    return report


def started_by_hand_from_deployment() -> bool:
    """A run someone started from a deployment (its Run button, the API, an automation) rather
    than its schedule: the one way to send a stage by a slip of the hand."""
    context = FlowRunContext.get()
    run = context.flow_run if context else None
    return run is not None and run.deployment_id is not None and not run.auto_scheduled


def tag_this_run(tag: str) -> None:
    """Add a tag to the running flow run, so that the runs list shows it and filters by it."""
    context = FlowRunContext.get()
    run = context.flow_run if context else None
    if run is None or tag in run.tags:
        return
    with get_client(sync_client=True) as client:
        client.update_flow_run(run.id, tags=[*run.tags, tag])


def ask_approval(
    event: Event, stage: Stage, preview: Preview, counts: StageCounts, settings: Settings
) -> StageApprovalOutcome:
    """Pause for the stage-approval form; no answer in time is no decision, and sends nothing."""
    link = artifact_link(preview_artifact_key(event.id, stage.id), "the preview")
    lead = (
        f"**{stage.id} of {event.id}: {preview.count} to send now**, {counts.sent} already "
        f"sent, {preview.quota_left} left of today's quota. Counts, what comes next and "
        f"samples: {link}."
    )
    try:
        answer = pause_flow_run(
            wait_for_input=with_initial_data(
                StageApproval, description=preview.markdown, lead=lead
            ),
            timeout=settings.approval_timeout_seconds,
            poll_interval=2,
        )
    except FlowPauseTimeout:
        answer = None
    approval = StageApprovalOutcome(
        decision=answer.decision if answer else None,
        note=(answer.note.strip() or None) if answer else None,
        at=utc_now(),
    )
    get_run_logger().info(
        "Approval of %s: %s%s",
        stage.id,
        approval.decision or "no decision in time",
        f" ({mask_contacts(approval.note)})" if approval.note else "",
    )
    return approval


def send_due(
    event: Event, stage: Stage, counts: StageCounts, settings: Settings
) -> tuple[int, str | None]:
    """Send batches, one per SMTP connection at once, each claiming its messages, until none is
    due or sending has to stop; returns how many this run sent and why it stopped short, if it
    did."""
    run_id = current_run_id()
    total = max(counts.pending + counts.failed - counts.failed_permanent, 1)
    progress: UUID = create_progress_artifact(  # type: ignore[assignment]
        progress=0.0, key=f"stage-progress-{event.id}-{stage.id}", description=f"Sending {stage.id}"
    )
    done = sent = 0
    shown_at = time.monotonic()

    def show_progress(final: bool = False) -> None:
        nonlocal shown_at
        if final or time.monotonic() - shown_at >= PROGRESS_EVERY_SECONDS:
            update_progress_artifact(progress, progress=min(100.0, 100.0 * done / total))
            shown_at = time.monotonic()

    while True:
        sizes = batch_sizes(settings)
        results = send_round(settings.store_url, event, stage, sizes, run_id)
        done += sum(result.claimed for result in results)
        sent += sum(result.sent for result in results)
        show_progress()
        if stopped := next((result.stopped for result in results if result.stopped), None):
            show_progress(final=True)
            emit_event(
                QUOTA_REACHED,
                resource={
                    "prefect.resource.id": f"karyashala.stage.{event.id}.{stage.id}",
                    "karyashala.event": event.id,
                    "karyashala.stage": stage.id,
                },
                payload={"stopped": stopped},
            )
            return sent, stopped
        if all(result.claimed == size for result, size in zip(results, sizes, strict=True)):
            continue  # every batch was full: more may be due
        show_progress(final=True)
        retry, held = wait_for_held_claims(
            settings.store_url, event.id, stage.id, run_id, settings.claim_lease_seconds
        )
        if not retry:
            return sent, held


def batch_sizes(settings: Settings) -> list[int]:
    """A batch for each SMTP connection, together no more than the daily quota has left; past
    the quota a batch of one, which stops with the reason."""
    room = max(settings.smtp_per_day - sent_in_last_day(settings.store_url), 1)
    sizes: list[int] = []
    while len(sizes) < settings.smtp_connections and room > 0:
        sizes.append(min(settings.batch_size, room))
        room -= sizes[-1]
    return sizes


def send_round(
    store_url: str, event: Event, stage: Stage, sizes: list[int], run_id: str
) -> list[BatchResult]:
    """Each batch claims its messages and sends them on a connection of its own, at once. Every
    batch ends (sent, or given back unsent) before a stop in one of them ends the run."""
    running = [
        send_batch.submit(store_url, untraversed(event), stage, size, run_id) for size in sizes
    ]
    wait(running)
    return [future.result() for future in running]
