"""The replies concern's Prefect tasks and artifact: each a thin wrapper of a plain function."""

from datetime import date

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from config.settings import load_settings
from store.queries import bounced_addresses
from tasks.common.escaping import markdown_cells
from tasks.common.privacy import mask_contacts
from tasks.replies.inbox import first_mail_day, record_mails
from tasks.replies.mail import InboxMail
from tasks.replies.mailbox import fetch_mails, mark_read, unread_uids
from tasks.replies.settle import WaitingReply, settle_replies, waiting_replies

ARTIFACT_TEXT_CHARS = 300

find_first_mail_day = task(name="first-mail-day", cache_policy=NO_CACHE)(first_mail_day)
record_replies = task(name="record-replies", cache_policy=NO_CACHE)(record_mails)
read_bounced_addresses = task(name="read-bounced-addresses", cache_policy=NO_CACHE)(
    bounced_addresses
)
list_waiting_replies = task(name="list-waiting-replies", cache_policy=NO_CACHE)(waiting_replies)
record_settlements = task(name="record-settlements", cache_policy=NO_CACHE)(settle_replies)


@task(name="list-unread-replies", cache_policy=NO_CACHE)
def list_unread_replies(since: date) -> list[str]:
    return unread_uids(load_settings(), since)


@task(name="fetch-replies", cache_policy=NO_CACHE)
def fetch_replies(uids: list[str]) -> list[InboxMail]:
    return fetch_mails(load_settings(), uids)


@task(name="mark-replies-read", cache_policy=NO_CACHE)
def mark_replies_read(uids: list[str]) -> None:
    mark_read(load_settings(), uids)


def artifact_text(text: str) -> str:
    """A reply's text for the UI: contacts masked, shortened, on one line."""
    flat = " ".join(mask_contacts(text).split())
    return flat if len(flat) <= ARTIFACT_TEXT_CHARS else flat[: ARTIFACT_TEXT_CHARS - 1] + "…"


@task(name="publish-waiting-replies", cache_policy=NO_CACHE)
def publish_waiting_replies(event_id: str, waiting: list[WaitingReply]) -> None:
    """The replies ops settle, by number: who (or the masked sender), what it seemed, the text."""
    create_table_artifact(
        key=f"replies-waiting-{event_id}",
        table=markdown_cells(
            {
                "reply": str(reply.id),
                "name / नाम": reply.name or "— (nobody matched)",
                "district / जिला": reply.district or "",
                "row / पंक्ति": str(reply.roster_row or ""),
                "from": mask_contacts(reply.sender or ""),
                "seemed": reply.seemed,
                "text": artifact_text(reply.text),
            }
            for reply in waiting
        ),
        description=(
            f"Replies waiting for a person ({len(waiting)}): settle them in the settle-replies "
            "run's form or with `karyashala replies settle`"
        ),
    )
