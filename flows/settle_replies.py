"""settle-replies: the replies by mail that wait for a person, as a form in the Prefect UI with
one choice per reply; what ops choose is recorded as that person's answer. Nothing is guessed:
a reply left at "wait" keeps waiting."""

from typing import Any, Literal

import pydantic
from prefect import flow, get_run_logger, pause_flow_run
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from pydantic import Field

from config.event import load_event
from config.settings import load_settings
from flows.forms import artifact_link, ended_as, with_initial_data
from tasks.common.escaping import markdown_text
from tasks.common.privacy import mask_contacts
from tasks.replies.settle import SETTLEMENTS, Decision, SettleReport, WaitingReply
from tasks.replies.tasks import (
    artifact_text,
    list_waiting_replies,
    publish_waiting_replies,
    record_settlements,
)

Choice = Literal["wait", "confirmed", "declined", "deputy", "ignore"]
CHOICE_HELP = (
    "**wait** (the default): leave it for later. **confirmed** / **declined** / **deputy**: "
    "record that as their answer. **ignore**: not an answer (settled by phone, say)."
)


def who(reply: WaitingReply) -> str:
    if reply.name is None:
        return f"nobody matched (from {mask_contacts(reply.sender or 'an unknown sender')})"
    where = ", ".join(part for part in (reply.role, reply.district) if part)
    return f"{reply.name} ({where}, row {reply.roster_row})" if where else reply.name


def settle_form(waiting: list[WaitingReply]) -> type[RunInput]:
    """A choice per waiting reply (reply_<id>), the deputy's name for it (reply_<id>_deputy),
    and for a reply nobody matched the roster row of whoever wrote it (reply_<id>_row)."""
    fields: dict[str, Any] = {}
    for reply in waiting:
        fields[f"reply_{reply.id}"] = (
            Choice,
            Field(
                default="wait",
                title=f"Reply {reply.id}: {who(reply)}",
                description=f"It seemed: {reply.seemed}. They wrote: "
                f"“{markdown_text(artifact_text(reply.text))}”\n\n{CHOICE_HELP}",
            ),
        )
        fields[f"reply_{reply.id}_deputy"] = (
            str,
            Field(
                default=reply.deputy_name or "",
                title=f"Reply {reply.id}: deputy's name",
                description="For deputy: who comes in their place.",
            ),
        )
        if reply.name is None:
            fields[f"reply_{reply.id}_row"] = (
                str,
                Field(
                    default="",
                    title=f"Reply {reply.id}: roster row",
                    description="The roster row of the person who wrote it (nobody matched).",
                ),
            )
    return pydantic.create_model("SettleReplies", __base__=RunInput, **fields)


def decisions_of(answer: RunInput, waiting: list[WaitingReply]) -> list[Decision]:
    values = dict(answer)
    decisions = []
    for reply in waiting:
        choice = values.get(f"reply_{reply.id}", "wait")
        if choice not in SETTLEMENTS:
            continue
        row = str(values.get(f"reply_{reply.id}_row", "")).strip()
        decisions.append(
            Decision(
                reply_id=reply.id,
                answer=choice,
                deputy_name=str(values.get(f"reply_{reply.id}_deputy", "")) or None,
                roster_row=int(row) if row.isdigit() else None,
            )
        )
    return decisions


@flow(name="settle-replies", flow_run_name="settle-replies {event}")
def settle_replies(event: str) -> SettleReport:
    """Show the replies that wait for a person as a form, and record what ops choose.

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
    """
    event_config = load_event(event)
    settings = load_settings()
    waiting = list_waiting_replies(settings.store_url, event_config.id)
    publish_waiting_replies(event_config.id, waiting)
    report = SettleReport(event_id=event_config.id, still_waiting=len(waiting))
    if not waiting:
        return ended_as("Nothing waiting", "No reply waits for a person.", report)
    form = settle_form(waiting)
    lead = artifact_link(f"replies-waiting-{event_config.id}", "the waiting replies")
    try:
        answer = pause_flow_run(
            wait_for_input=with_initial_data(
                form, description=f"**{len(waiting)} replies wait for a person.** See {lead}."
            ),
            timeout=settings.approval_timeout_seconds,
            poll_interval=2,
        )
    except FlowPauseTimeout:
        return report
    decisions = decisions_of(answer, waiting)
    report = record_settlements(
        settings.store_url, event_config.id, decisions, "prefect-ui", skip_settled=True
    )
    get_run_logger().info(
        "Settled %d replies as answers, %d set aside, %d settled meanwhile; %d still wait.",
        len(report.answered),
        len(report.ignored),
        len(report.skipped),
        report.still_waiting,
    )
    return report
