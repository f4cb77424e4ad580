"""Dry-run previews of a stage: every message it would send now as an .eml file, and a few
masked samples for the Prefect UI."""

from dataclasses import dataclass
from pathlib import Path

from config.event import Event, Stage
from config.settings import load_settings
from store.models import utc_now
from tasks.common.privacy import mask_contacts
from tasks.mail.ledger import StageCounts, due_recipients
from tasks.mail.render import build_message, calendars, render_mail, wire_bytes
from tasks.mail.smtp import sender_for

SAMPLES = 3


@dataclass(frozen=True)
class Preview:
    folder: Path
    count: int
    markdown: str


def write_previews(store_url: str, event: Event, stage: Stage, counts: StageCounts) -> Preview:
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
    recipients = due_recipients(store_url, event.id, stage.id, settings.claim_lease_seconds)
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
    return Preview(folder=folder, count=len(recipients), markdown="\n".join(lines))
