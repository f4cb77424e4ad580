"""`karyashala whatsapp`: plan a stage's WhatsApp channel and print every link and page."""

from typing import Annotated

import typer
from pydantic import BaseModel

from karyashala.cli.common import EventOption, JsonOption, operator_errors, out, print_json

commands = typer.Typer()


class PersonLink(BaseModel):
    person_id: int
    district: str | None
    url: str


class WhatsAppPlan(BaseModel):
    """What `karyashala whatsapp --json` prints."""

    people: int
    links: list[PersonLink]
    coordinator_pages: dict[str, str]
    skipped: dict[str, int]


@commands.command()
def whatsapp(
    event: EventOption,
    stage: Annotated[str, typer.Option("--stage", "-s", help="The stage id, e.g. invitation.")],
    as_json: JsonOption = False,
) -> None:
    """Plan the WhatsApp channel of a stage (again changes nothing) and print each person's
    click-to-chat link and each district coordinator's page."""
    from config.event import load_event
    from config.settings import load_settings
    from tasks.mail.smtp import sender_for
    from tasks.whatsapp.coordinators import coordinator_pages
    from tasks.whatsapp.handoff import plan_whatsapp, whatsapp_queue
    from tasks.whatsapp.message import whatsapp_link

    with operator_errors():
        settings = load_settings()
        event_config = load_event(event)
        stage_config = event_config.stage(stage)
        planned = plan_whatsapp(settings.store_url, event_config, stage_config, settings.mail_from)
        sender = sender_for(settings)
        queue = whatsapp_queue(settings.store_url, event_config.id, stage_config.id)
        links = [
            whatsapp_link(event_config, stage_config, message.recipient, sender)
            for message in queue
        ]
        pages = coordinator_pages(event_config, stage_config, planned.coordinators, queue, sender)
    plan = WhatsAppPlan(
        people=len(queue),
        links=[PersonLink(**vars(link)) for link in links],
        coordinator_pages=pages,
        skipped=planned.counts.skipped,
    )
    if as_json:
        print_json(plan)
        return
    sent = sum(1 for message in queue if message.handed_over)
    out.print(f"{stage_config.id}: {plan.people} people on WhatsApp, {sent} sent by a coordinator")
    # Whole, one a line: a link cut to the terminal's width cannot be copied.
    for district, url in pages.items():
        out.print(f"{district}: {url}", soft_wrap=True)
    for reason, count in sorted(plan.skipped.items()):
        out.print(f"Not on WhatsApp ({reason}): {count}")
