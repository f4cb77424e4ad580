"""/w/<token>: a district coordinator's page of people to message on WhatsApp for one stage.
GET (and HEAD) only shows it; the "Send on WhatsApp" button is a POST that records the hand-off
in the ledger, then sends the phone to WhatsApp with the text filled in. Whoever taps first
sends: the others see it sent, and by whom."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from config.errors import EventConfigError
from config.event import Coordinator, Event, Stage
from store.db import transaction
from tasks.common.districts import load_districts
from tasks.common.tokens import InvalidTokenError, verify_coordinator_link
from tasks.mail.render import message_language
from tasks.mail.smtp import sender_for
from tasks.whatsapp.handoff import QueuedMessage, record_handoff, whatsapp_queue
from tasks.whatsapp.message import CLICK_TO_CHAT, click_to_chat, whatsapp_text
from tasks.whatsapp.plan import CoordinatorMap, coordinator_key, coordinator_map
from web.pages import Site, invalid_link, page, security_headers

# The button's POST ends at wa.me, and a browser holds a form's redirect to the form-action of
# the page the form is on.
WHATSAPP_FORMS = security_headers(form_targets=f"'self' {CLICK_TO_CHAT.rstrip('/')}")


@dataclass(frozen=True)
class CoordinatorPage:
    """Whose page a link opens: the event, the stage and the coordinator."""

    token: str
    event: Event
    stage: Stage
    coordinator: Coordinator
    coordinators: CoordinatorMap

    @property
    def key(self) -> str:
        return coordinator_key(self.coordinator)

    @property
    def language(self) -> str:
        return message_language(self.coordinator.language)


class WhatsAppPage:
    def __init__(self, site: Site) -> None:
        self.site = site

    def find(self, token: str) -> CoordinatorPage | None:
        settings = self.site.settings
        try:
            link = verify_coordinator_link(
                settings.signing_secret(), token, settings.link_max_age_days * 86_400
            )
            event = self.site.events[link.event_id]
            stage = event.stage(link.stage_id)
            coordinators = coordinator_map(event, load_districts(event.districts))
        except (InvalidTokenError, KeyError, EventConfigError):
            return None
        coordinator = coordinators.by_key(link.coordinator_key)
        if coordinator is None:
            return None
        return CoordinatorPage(token, event, stage, coordinator, coordinators)

    def theirs(self, found: CoordinatorPage) -> list[QueuedMessage]:
        """The stage's messages to the people of this coordinator's districts."""
        queue = whatsapp_queue(self.site.settings.store_url, found.event.id, found.stage.id)
        return [
            message
            for message in queue
            if found.coordinators.covers(found.coordinator, message.recipient.district)
        ]

    def show(self, request: Request) -> HTMLResponse:
        found = self.find(request.path_params["token"])
        if found is None:
            return invalid_link()
        return self.render(found, self.theirs(found))

    def hand_over(self, request: Request) -> Response:
        found = self.find(request.path_params["token"])
        if found is None:
            with transaction(self.site.settings.store_url, writes=True) as session:
                return self.site.refuse_link(session, request)
        mine = {message.ledger_id: message for message in self.theirs(found)}
        ledger_id = request.path_params["ledger_id"]
        if ledger_id not in mine:
            return invalid_link()
        settings = self.site.settings
        handoff = record_handoff(
            settings.store_url, found.event.id, found.stage.id, ledger_id, found.key
        )
        if handoff is None or not handoff.by_this_tap:
            mine[ledger_id] = handoff.message if handoff else mine[ledger_id]
            return self.render(found, list(mine.values()), already_sent=True)
        recipient = handoff.message.recipient
        text = whatsapp_text(found.event, found.stage, recipient, sender_for(settings))
        return RedirectResponse(click_to_chat(recipient.phone, text), status_code=303)

    def render(
        self, found: CoordinatorPage, messages: list[QueuedMessage], already_sent: bool = False
    ) -> HTMLResponse:
        language = found.language
        catalog = load_districts(found.event.districts)
        zone = ZoneInfo(found.event.timezone)

        def row(message: QueuedMessage) -> dict[str, object]:
            person = message.recipient
            role = found.event.role_named(person.role) if person.role else None
            district = catalog.canonical(person.district) if person.district else None
            at = message.handed_over_at
            return {
                "ledger_id": message.ledger_id,
                "name": person.name,
                "role": getattr(role, language) if role else person.role,
                "district": getattr(district, language) if district else person.district,
                "handed_over": message.handed_over,
                "by": message.handed_over_by or "",
                "at": at.astimezone(zone).strftime("%d-%m-%Y %H:%M") if at else "",
            }

        rows = [row(message) for message in messages]
        response = page(
            "whatsapp.html.j2",
            {
                "lang": language,
                "t": lambda text: getattr(text, language),
                "event": found.event,
                "stage": found.stage.id,
                "coordinator": found.coordinator.name,
                "messages": rows,
                "sent": sum(1 for one in rows if one["handed_over"]),
                "action": f"/w/{found.token}",
                "already_sent": already_sent,
            },
        )
        response.headers.update(WHATSAPP_FORMS)
        return response
