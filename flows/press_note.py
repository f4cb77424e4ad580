"""press-note: the announcement before the event or the summary after it, for a person to
review in the Prefect UI; only an approved note is saved as final and goes to the media."""

from datetime import datetime
from pathlib import Path

from prefect import flow, pause_flow_run
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from pydantic import Field

from config.event import Event, Outcome, Quote, SpeakerPoint, Text, load_event
from config.settings import Settings, load_settings
from flows.common import current_run_id
from store.models import utc_now
from tasks.press.files import DRAFT, awaiting_review, mark_not_approved, note_files
from tasks.press.render import Kind, render_sections, with_embargo
from tasks.press.report import PressReport
from tasks.press.tasks import (
    plan_press_mail,
    publish_note,
    read_facts,
    send_to_media,
    write_draft,
    write_final,
)


class PressNoteReview(RunInput):
    """The review form in the Prefect UI. Nothing is approved or sent unless ticked."""

    approve: bool = Field(default=False, description="Approve this note as the final version.")
    edited_text: str = Field(
        default="",
        description="The draft (Markdown): what you change here replaces it as a whole.",
    )

    def edit_of(self, draft: str) -> str | None:
        """The reviewer's own text, if they changed the draft; None keeps the draft."""
        text = self.edited_text.strip()
        return text + "\n" if text and text != draft.strip() else None

    points: list[SpeakerPoint] = Field(
        default_factory=list, description="Main points by speaker (summary)."
    )
    quotes: list[Quote] = Field(default_factory=list, description="Quotes (summary).")
    decisions: list[Text] = Field(default_factory=list, description="Decisions (summary).")
    photo_captions: list[Text] = Field(default_factory=list, description="Photo captions.")
    embargo: datetime | None = Field(
        default=None, description="Not to be published before this time (printed on top)."
    )
    send_to_media: bool = Field(
        default=False, description="Mail the approved note to the event's media list."
    )

    def outcome(self) -> Outcome:
        return Outcome(
            points=self.points,
            quotes=self.quotes,
            decisions=self.decisions,
            photo_captions=self.photo_captions,
        )


def review_description(kind: Kind, folder: Path, draft: str) -> str:
    return (
        f"**Review the {kind} ({folder.name}).** Tick *approve* to save it as final; edit the "
        "text, or change the points, quotes, decisions and captions (the note is written "
        "again with them). Tick *send to media* to mail it to the media list.\n\n---\n\n" + draft
    )


@flow(name="press-note", flow_run_name="press-note {event} {kind}")
def press_note(event: str, kind: Kind, review: bool = True) -> PressReport:
    """Write the announcement or the summary in Hindi and English, then wait for a review.

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
        kind: announcement (before the event) or summary (after it, with attendance).
        review: Pause for the review form; without it the draft waits for
            `karyashala press-note approve`.
    """
    event_config = load_event(event)
    settings = load_settings()
    facts = read_facts(settings.store_url, event_config)
    draft = render_sections(
        event_config, kind, facts, event_config.outcome, settings.press_month_spelling
    )
    folder, files = write_draft(settings.event_output_dir(event_config.id), kind, draft)
    publish_note(event_config.id, kind, folder, draft, "draft, awaiting review", utc_now())
    report = PressReport(
        event_id=event_config.id,
        kind=kind,
        version=folder.name,
        state="awaiting review",
        **files.model_dump(),
    )
    if not review:
        return report
    form = PressNoteReview.with_initial_data(
        description=review_description(kind, folder, draft),
        approve=False,
        edited_text=draft,
        **event_config.outcome.model_dump(),
    )
    while True:
        try:
            decision = pause_flow_run(
                wait_for_input=form, timeout=settings.approval_timeout_seconds, poll_interval=2
            )
        except FlowPauseTimeout:
            decision = PressNoteReview()
        if not decision.approve:
            mark_not_approved(folder)
            publish_note(event_config.id, kind, folder, draft, "not approved", utc_now())
            return report.model_copy(update={"state": "not approved"})
        problem = unknown_speaker(event_config, decision)
        if problem is None:
            break
        # Ask again with what the reviewer entered, rather than fail and lose it.
        form = PressNoteReview.with_initial_data(
            description=f"**{problem}**\n\n" + review_description(kind, folder, draft),
            approve=False,
            edited_text=decision.edited_text,
            embargo=decision.embargo,
            send_to_media=decision.send_to_media,
            **decision.outcome().model_dump(),
        )
    edit = decision.edit_of(draft)
    if edit is None and decision.outcome() != event_config.outcome:
        draft = render_sections(
            event_config, kind, facts, decision.outcome(), settings.press_month_spelling
        )
    return save_approved(event_config, kind, folder, edit or draft, decision, settings, report)


def unknown_speaker(event: Event, decision: PressNoteReview) -> str | None:
    """What is wrong with the points of a review, if a point names someone not speaking."""
    for index, point in enumerate(decision.outcome().points):
        try:
            event.dignitary(point.speaker)
        except ValueError as error:
            return f"Point {index + 1}: {error}. Correct the name and approve again."
    return None


def save_approved(
    event: Event,
    kind: Kind,
    folder: Path,
    body: str,
    decision: PressNoteReview,
    settings: Settings,
    report: PressReport,
) -> PressReport:
    """Save the approved text beside the draft and, when asked, mail it to the media list."""
    final_text = with_embargo(body, decision.embargo, event, settings.press_month_spelling)
    final = write_final(folder, final_text)
    publish_note(event.id, kind, folder, final_text, "approved", utc_now())
    sent = failed = 0
    stopped: str | None = None
    if decision.send_to_media and not event.media:
        stopped = "the event file has no media list: nothing was sent"
    elif decision.send_to_media:
        plan_press_mail(settings.store_url, event, kind, settings.mail_from)
        result = send_to_media(settings.store_url, event, kind, final_text, final, current_run_id())
        sent, failed, stopped = result.sent, result.failed, result.stopped
    return report.model_copy(
        update={
            "state": "approved",
            "final": final,
            "sent": sent,
            "failed": failed,
            "stopped": stopped,
        }
    )


@flow(name="press-note-approve", flow_run_name="press-note-approve {event} {kind}")
def approve_press_note(
    event: str,
    kind: Kind,
    edited_text: str = "",
    embargo: datetime | None = None,
    send_to_media: bool = False,
) -> PressReport:
    """Approve the latest draft that waits for review (written without a pause).

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
        kind: announcement or summary.
        edited_text: Markdown that replaces the draft as a whole; empty keeps the draft.
        embargo: Not to be published before this time (printed on top of the note).
        send_to_media: Mail the approved note to the event's media list.
    """
    event_config = load_event(event)
    settings = load_settings()
    folder = awaiting_review(settings.event_output_dir(event_config.id), kind)
    draft = (folder / f"{DRAFT}.md").read_text(encoding="utf-8")
    report = PressReport(
        event_id=event_config.id,
        kind=kind,
        version=folder.name,
        state="awaiting review",
        **note_files(folder, DRAFT).model_dump(),
    )
    decision = PressNoteReview(
        approve=True, edited_text=edited_text, embargo=embargo, send_to_media=send_to_media
    )
    body = decision.edit_of(draft) or draft
    return save_approved(event_config, kind, folder, body, decision, settings, report)
