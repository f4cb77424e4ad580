"""Dry-run previews of a stage: every message it would send now as an .eml file, and for the
Prefect UI what a person needs before saying yes: how many, the day's quota, what comes next, a
few masked samples."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from config.event import Event, Stage
from config.settings import load_settings
from store.models import utc_now
from tasks.common.escaping import markdown_code_block, markdown_text
from tasks.common.privacy import mask_contacts
from tasks.mail.ledger import StageCounts, due_recipients, sent_in_last_day
from tasks.mail.render import build_message, calendars, render_mail, wire_bytes
from tasks.mail.smtp import sender_for

SAMPLES = 3


@dataclass(frozen=True)
class Preview:
    folder: Path
    count: int
    quota_left: int
    markdown: str


def next_stage(event: Event, now: datetime) -> tuple[Stage, datetime] | None:
    """The event's stage whose time in the event file comes first after now, if any."""
    upcoming = [(stage.runs_at(event.starts_at), stage) for stage in event.stages]
    later = [(at, stage) for at, stage in upcoming if at > now]
    if not later:
        return None
    at, stage = min(later, key=lambda item: item[0])
    return stage, at


def next_stage_line(event: Event, stage: Stage, now: datetime) -> str:
    following = next_stage(event, now)
    if following is None:
        return "Next scheduled stage of the event: none, every stage's time has passed."
    upcoming, at = following
    local = at.astimezone(ZoneInfo(event.timezone))
    this_one = " (this stage, on its schedule)" if upcoming.id == stage.id else ""
    return (
        f"Next scheduled stage of the event: **{upcoming.id}**{this_one} at "
        f"{local:%Y-%m-%d %H:%M} ({event.timezone})."
    )


def quota_line(due_now: int, quota_left: int, per_day: int, sent_today: int) -> str:
    line = (
        f"Daily quota left: **{quota_left}** of {per_day} (sent in the last 24 hours, all "
        f"events: {sent_today})."
    )
    if due_now > quota_left:
        line += f" Only {quota_left} go out now; the rest on a run after the quota frees up."
    return line


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
            samples.append(
                (recipient.language, rendered.subject, mask_contacts(rendered.text).strip())
            )
    sent_today = sent_in_last_day(store_url)
    quota_left = max(settings.smtp_per_day - sent_today, 0)
    lines = [
        f"# {event.id} / {stage.id}: preview",
        "",
        f"To send now: **{len(recipients)}**; already sent: {counts.sent}; "
        f"failed: {counts.failed}; skipped: "
        + (", ".join(f"{k} {v}" for k, v in sorted(counts.skipped.items())) or "none"),
        "",
        quota_line(len(recipients), quota_left, settings.smtp_per_day, sent_today),
        "",
        next_stage_line(event, stage, now),
        "",
        f"All {len(recipients)} messages are rendered as .eml files in "
        f"{markdown_text(folder)}. Samples (emails and phones masked):",
    ]
    for language, subject, text in samples:
        lines += ["", f"## [{language}] {markdown_text(subject)}", "", markdown_code_block(text)]
    return Preview(
        folder=folder, count=len(recipients), quota_left=quota_left, markdown="\n".join(lines)
    )
