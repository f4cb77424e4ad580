"""The press concern's Prefect tasks and artifacts: each a thin wrapper of a plain function."""

from datetime import datetime
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from config.event import Event
from tasks.common.escaping import markdown_text
from tasks.common.privacy import mask_contacts
from tasks.mail.smtp import BatchResult
from tasks.press.facts import read_press_facts
from tasks.press.files import NoteFiles, write_draft_version, write_final_note
from tasks.press.media import plan_media, send_note_to_media
from tasks.press.render import Kind

read_facts = task(name="read-press-facts", cache_policy=NO_CACHE)(read_press_facts)
write_draft = task(name="write-press-draft", cache_policy=NO_CACHE)(write_draft_version)
write_final = task(name="write-press-final", cache_policy=NO_CACHE)(write_final_note)
plan_press_mail = task(name="plan-press-mail", cache_policy=NO_CACHE)(plan_media)


@task(name="send-press-note", cache_policy=NO_CACHE)
def send_to_media(
    store_url: str, event: Event, kind: Kind, markdown: str, files: NoteFiles, run_id: str
) -> BatchResult:
    """One SMTP connection for the media list; each outcome committed before the next."""
    return send_note_to_media(store_url, event, kind, markdown, files, run_id, get_run_logger())


def note_artifact_key(event_id: str, kind: Kind) -> str:
    return f"press-{kind}-{event_id}"


@task(name="publish-press-note", cache_policy=NO_CACHE)
def publish_note(
    event_id: str,
    kind: Kind,
    folder: Path,
    markdown: str,
    state: str,
    at: datetime,
    note: str = "",
) -> None:
    """One keyed artifact per event and kind: the UI keeps every draft and every decision, with
    the reviewer's note (emails and phones masked)."""
    header = f"> **{kind} {folder.name}: {state}** ({at:%Y-%m-%d %H:%M} UTC) · files: `{folder}`"
    if note:
        header += f"\n>\n> Note: {markdown_text(mask_contacts(note))}"
    create_markdown_artifact(
        key=note_artifact_key(event_id, kind),
        markdown=f"{header}\n\n{markdown}",
        description=f"Press note ({kind}) of {event_id}: {state}",
    )
