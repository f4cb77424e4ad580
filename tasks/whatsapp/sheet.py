"""Every person's WhatsApp link for ops, where they work: a "WhatsApp" worksheet of the roster
spreadsheet (one RAW write), or a CSV file beside the event's other outputs."""

from collections.abc import Sequence

from config.event import Event, Stage
from config.settings import load_settings
from tasks.common.escaping import write_csv
from tasks.common.sheets import write_worksheet
from tasks.whatsapp.handoff import QueuedMessage
from tasks.whatsapp.message import WhatsAppLink

WHATSAPP_WORKSHEET = "WhatsApp"
HEADER = [
    "चरण / Stage",
    "नाम / Name",
    "ज़िला / District",
    "भेजा / Sent by",
    "WhatsApp",
]


def whatsapp_sheet_rows(
    stage: Stage, queue: Sequence[QueuedMessage], links: Sequence[WhatsAppLink]
) -> list[list[str]]:
    by_person = {link.person_id: link for link in links}
    rows = [HEADER]
    for message in queue:
        link = by_person[message.recipient.person_id]
        rows.append(
            [
                stage.id,
                message.recipient.name,
                link.district or "",
                message.handed_over_by or "",
                link.url,
            ]
        )
    return rows


def write_whatsapp_links(event: Event, stage: Stage, rows: list[list[str]]) -> str:
    """Where the links went: the worksheet, or the CSV file for a roster read from a file."""
    settings = load_settings()
    roster = event.roster
    if roster.source == "sheets":
        assert roster.spreadsheet_key is not None
        write_worksheet(roster.spreadsheet_key, WHATSAPP_WORKSHEET, rows, settings)
        return f"worksheet {WHATSAPP_WORKSHEET!r} of the roster spreadsheet"
    path = settings.event_output_dir(event.id) / f"whatsapp-{stage.id}.csv"
    write_csv(path, rows)
    return str(path)
