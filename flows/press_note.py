"""press-note: the announcement before the event or the summary after it, for a person to
review in the Prefect UI; only an approved note is saved as final and goes to the media."""

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, pause_flow_run
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from pydantic import Field

from config.event import Event, Outcome, Quote, SpeakerPoint, Text, load_event
from config.settings import Settings, load_settings
from flows.common import current_run_id
from flows.forms import LongText, OptionalDateTime, artifact_link, ended_as, with_initial_data
from store.models import utc_now
from tasks.common.escaping import markdown_text
from tasks.common.privacy import mask_contacts
from tasks.press.facts import PressFacts
from tasks.press.files import DRAFT, awaiting_review, mark_not_approved, note_files
from tasks.press.render import Kind, render_sections, with_embargo
from tasks.press.report import NoteState, PressReport
from tasks.press.tasks import (
    note_artifact_key,
    plan_press_mail,
    publish_note,
    read_facts,
    send_to_media,
    write_draft,
    write_final,
)

ReviewDecision = Literal["approve", "keep as draft", "reject"]
# How the runs list names a run a reviewer did not approve (an approval ends "Completed").
END_NAMES: dict[NoteState, str] = {"kept as draft": "Kept as draft", "rejected": "Rejected"}


class PressNoteReview(RunInput):
    """The review form in the Prefect UI. Nothing is approved or sent unless chosen; an edit is
    kept as a new draft version whatever is chosen."""

    edited_text: LongText = Field(
        default="",
        description="The note in Markdown: Hindi, a line `---`, then English. What you change "
        "here replaces it as a whole and is saved as a new draft version, whatever you decide.",
    )
    decision: ReviewDecision = Field(
        default="keep as draft",
        description="**approve**: save it as the final version (and mail it, if ticked below). "
        "**keep as draft**: nothing is final yet; your changes wait for a later review or "
        "`karyashala press-note approve`. **reject**: this version is not to go out.",
    )
    note: str = Field(
        default="",
        description="Why, in a line: kept in the run's log and shown with the note's versions.",
    )
    embargo: OptionalDateTime = Field(
        default=None,
        description="On approval: not to be published before this time, printed on top of the "
        "note. Empty: no embargo. Pick the time zone too (Asia / Calcutta is IST).",
    )
    send_to_media: bool = Field(
        default=False,
        description="On approval: mail the note, with its Word file, to the event's media list.",
    )

    def edit_of(self, draft: str) -> str | None:
        """The reviewer's own text, if they changed the draft; None keeps the draft."""
        text = self.edited_text.strip()
        return text + "\n" if text and text != draft.strip() else None

    def outcome(self, drafted: Outcome) -> Outcome:
        """What happened, as the review has it: the announcement's form does not ask."""
        return drafted


class SummaryReview(PressNoteReview):
    """The summary's review form: what happened, too, to write the note again with."""

    points: list[SpeakerPoint] = Field(
        default_factory=list,
        description="Main points by speaker. Changing these lists writes the note again, "
        "unless you edited its text above.",
    )
    quotes: list[Quote] = Field(default_factory=list, description="Quotes, printed as said.")
    decisions: list[Text] = Field(
        default_factory=list, title="Decisions taken", description="What the event decided."
    )
    photo_captions: list[Text] = Field(default_factory=list, description="Photo captions.")

    def outcome(self, drafted: Outcome) -> Outcome:
        return Outcome(
            points=self.points,
            quotes=self.quotes,
            decisions=self.decisions,
            photo_captions=self.photo_captions,
        )


REVIEW_FORMS: dict[Kind, type[PressNoteReview]] = {
    "announcement": PressNoteReview,
    "summary": SummaryReview,
}


def review_lead(event_id: str, kind: Kind, version: str, problem: str | None) -> str:
    """What the form says first: which version, where to read it as it will print, and what
    was wrong with the last answer."""
    link = artifact_link(note_artifact_key(event_id, kind), "the note as it will print")
    lead = (
        f"**Review the {kind}, {version}.** Read {link}; edit the text below if need be, then "
        "choose a decision further down."
    )
    return f"**{markdown_text(problem)}**\n\n{lead}" if problem else lead


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
        event_config, kind, facts, event_config.outcome, settings.month_spelling
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
    answer = ask_review(event_config, kind, folder.name, draft, settings)
    if answer is None:
        # Prefect ends a run whose pause ran out as Failed, whatever it returns.
        mark_not_approved(folder)
        publish_note(event_config.id, kind, folder, draft, "no decision in time", utc_now())
        return report.model_copy(update={"state": "not approved"})
    revised = revised_note(event_config, kind, facts, draft, answer, settings)
    if revised is not None:
        folder, report = save_revision(settings, event_config.id, kind, revised, report)
        draft = revised
    note = answer.note.strip()
    get_run_logger().info(
        "Review of the %s, %s: %s%s",
        kind,
        folder.name,
        answer.decision,
        f" ({mask_contacts(note)})" if note else "",
    )
    if answer.decision == "approve":
        return save_approved(event_config, kind, folder, draft, answer, settings, report)
    state: NoteState = "kept as draft"
    if answer.decision == "reject":
        mark_not_approved(folder)
        state = "rejected"
    publish_note(event_config.id, kind, folder, draft, state, utc_now(), note)
    return ended_as(
        END_NAMES[state],
        f"The {kind} {folder.name} was {state}: nothing is final, nothing was sent.",
        report.model_copy(update={"state": state, "note": note or None}),
    )


def ask_review(
    event: Event, kind: Kind, version: str, draft: str, settings: Settings
) -> PressNoteReview | None:
    """Pause for the review form until an answer names only speakers the event has (a
    rejection need not); None when nobody answered in time."""
    form = REVIEW_FORMS[kind]
    values: dict[str, Any] = {"edited_text": draft}
    if issubclass(form, SummaryReview):
        values.update(event.outcome)
    problem: str | None = None
    while True:
        try:
            answer = pause_flow_run(
                wait_for_input=with_initial_data(
                    form, lead=review_lead(event.id, kind, version, problem), **values
                ),
                timeout=settings.approval_timeout_seconds,
                poll_interval=2,
            )
        except FlowPauseTimeout:
            return None
        problem = unknown_speaker(event, answer)
        if problem is None or answer.decision == "reject":
            return answer
        # Ask again with what the reviewer entered, rather than fail and lose it.
        values = dict(answer)


def unknown_speaker(event: Event, answer: PressNoteReview) -> str | None:
    """What is wrong with the points of a review, if a point names someone not speaking."""
    for index, point in enumerate(answer.outcome(event.outcome).points):
        try:
            event.dignitary(point.speaker)
        except ValueError as error:
            return f"Point {index + 1}: {error}. Correct the name and submit again."
    return None


def revised_note(
    event: Event,
    kind: Kind,
    facts: PressFacts,
    draft: str,
    answer: PressNoteReview,
    settings: Settings,
) -> str | None:
    """The note as the review left it, if it changed: the reviewer's own text, else the note
    written again with their points, quotes, decisions and captions."""
    edit = answer.edit_of(draft)
    outcome = answer.outcome(event.outcome)
    if edit is not None or outcome == event.outcome or unknown_speaker(event, answer):
        return edit
    rewritten = render_sections(event, kind, facts, outcome, settings.month_spelling)
    return rewritten if rewritten != draft else None


def save_revision(
    settings: Settings, event_id: str, kind: Kind, markdown: str, report: PressReport
) -> tuple[Path, PressReport]:
    """A reviewed text as a new draft version beside the one reviewed, which stays as it was."""
    folder, files = write_draft(settings.event_output_dir(event_id), kind, markdown)
    return folder, report.model_copy(update={"version": folder.name, **files.model_dump()})


def save_approved(
    event: Event,
    kind: Kind,
    folder: Path,
    body: str,
    answer: PressNoteReview,
    settings: Settings,
    report: PressReport,
) -> PressReport:
    """Save the approved text beside its draft and, when asked, mail it to the media list."""
    final_text = with_embargo(body, answer.embargo, event, settings.month_spelling)
    final = write_final(folder, final_text)
    note = answer.note.strip()
    publish_note(event.id, kind, folder, final_text, "approved", utc_now(), note)
    sent = failed = 0
    stopped: str | None = None
    if answer.send_to_media and not event.media:
        stopped = "the event file has no media list: nothing was sent"
    elif answer.send_to_media:
        plan_press_mail(settings.store_url, event, kind, settings.mail_from)
        result = send_to_media(settings.store_url, event, kind, final_text, final, current_run_id())
        sent, failed, stopped = result.sent, result.failed, result.stopped
    return report.model_copy(
        update={
            "state": "approved",
            "final": final,
            "note": note or None,
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
        edited_text: Markdown that replaces the draft as a whole (saved as a new draft version
            first); empty keeps the draft.
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
    answer = PressNoteReview(
        decision="approve", edited_text=edited_text, embargo=embargo, send_to_media=send_to_media
    )
    edit = answer.edit_of(draft)
    if edit is not None:
        folder, report = save_revision(settings, event_config.id, kind, edit, report)
    return save_approved(event_config, kind, folder, edit or draft, answer, settings, report)
