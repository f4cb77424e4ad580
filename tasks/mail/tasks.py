"""The mail concern's Prefect tasks and artifacts: each a thin wrapper of a plain function."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from config.event import Event, Stage
from tasks.common.escaping import markdown_text
from tasks.common.privacy import mask_contacts
from tasks.mail.ledger import StageCounts, wait_for_holders
from tasks.mail.ledger import plan_stage as plan_stage_ledger
from tasks.mail.preview import Preview, write_previews
from tasks.mail.report import StageApprovalOutcome, StageReport
from tasks.mail.smtp import BatchResult, send_stage_batch

plan_stage = task(name="plan-stage", cache_policy=NO_CACHE)(plan_stage_ledger)


@task(name="wait-for-held-claims", cache_policy=NO_CACHE)
def wait_for_held_claims(
    store_url: str, event_id: str, stage_id: str, run_id: str, lease_seconds: float
) -> tuple[bool, str | None]:
    """Messages other runs hold: claim them once their silent holder's lease ran out."""
    return wait_for_holders(store_url, event_id, stage_id, run_id, lease_seconds, get_run_logger())


@task(name="send-batch", cache_policy=NO_CACHE)
def send_batch(store_url: str, event: Event, stage: Stage, size: int, run_id: str) -> BatchResult:
    """Claim up to size due messages and send them over one connection; each outcome is
    committed before the next message."""
    return send_stage_batch(store_url, event, stage, size, run_id, get_run_logger())


def preview_artifact_key(event_id: str, stage_id: str) -> str:
    return f"stage-preview-{event_id}-{stage_id}"


@task(name="preview-stage", cache_policy=NO_CACHE)
def preview_stage(store_url: str, event: Event, stage: Stage, counts: StageCounts) -> Preview:
    """Render every message a run would send now, as .eml files; nothing is sent."""
    preview = write_previews(store_url, event, stage, counts)
    create_markdown_artifact(
        key=preview_artifact_key(event.id, stage.id),
        markdown=preview.markdown,
        description=f"Preview of stage {stage.id}",
    )
    return preview


def approval_text(approval: StageApprovalOutcome | None) -> str:
    """The approval as the outcome shows it: the decision, when, and the note (emails and phones
    masked, Markdown shown as typed)."""
    if approval is None:
        return ""
    text = f" · {approval.decision or 'no decision'} at {approval.at:%Y-%m-%d %H:%M} UTC"
    if approval.note:
        text += f": {markdown_text(mask_contacts(approval.note))}"
    return text


@task(name="publish-stage-report", cache_policy=NO_CACHE)
def publish_stage_report(report: StageReport) -> None:
    rows = [
        {"outcome": "sent", "count": report.sent},
        {"outcome": "failed", "count": report.failed},
        {"outcome": "pending", "count": report.pending},
        *({"outcome": f"skipped: {k}", "count": v} for k, v in sorted(report.skipped.items())),
    ]
    if report.whatsapp is not None:
        whatsapp = report.whatsapp
        rows += [
            {"outcome": "WhatsApp: sent by a coordinator", "count": whatsapp.handed_over},
            {"outcome": "WhatsApp: waiting for a coordinator", "count": whatsapp.waiting},
            *(
                {"outcome": f"WhatsApp skipped: {k}", "count": v}
                for k, v in sorted(whatsapp.skipped.items())
            ),
        ]
    create_table_artifact(
        key=f"stage-outcome-{report.event_id}-{report.stage}",
        table=rows,
        description=f"Stage {report.stage}: messages by outcome"
        + (f" (stopped: {markdown_text(report.stopped)})" if report.stopped else "")
        + approval_text(report.approval),
    )
