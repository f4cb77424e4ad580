"""A stage's WhatsApp text for one person and the click-to-chat link that carries it. Pure."""

from dataclasses import dataclass
from urllib.parse import quote

from config import TEMPLATES_DIR
from config.event import Event, Stage
from tasks.common.districts import load_districts
from tasks.common.templating import environment
from tasks.mail.render import Sender, message_context

CLICK_TO_CHAT = "https://wa.me/"


@dataclass(frozen=True)
class WhatsAppRecipient:
    """What a WhatsApp text needs of one person; the phone is E.164 (+91…)."""

    person_id: int
    name: str
    role: str | None
    district: str | None
    language: str
    phone: str


def whatsapp_text(event: Event, stage: Stage, person: WhatsAppRecipient, sender: Sender) -> str:
    """The text from templates/whatsapp/<stage>/<language>.txt.j2, in the mail's words and with
    the person's own answer link."""
    context = message_context(event, stage, person, sender)
    template = f"whatsapp/{stage.template_folder}/{context['lang']}.txt.j2"
    return environment(TEMPLATES_DIR).get_template(template).render(context).strip() + "\n"


def click_to_chat(phone: str, text: str) -> str:
    """WhatsApp's link that opens a chat with phone, the text filled in, on a phone or on
    WhatsApp Web: the number as digits only, country code first."""
    digits = "".join(char for char in phone if char.isdigit())
    if not digits:
        raise ValueError("a click-to-chat link needs a phone number")
    return f"{CLICK_TO_CHAT}{digits}?text={quote(text, safe='')}"


@dataclass(frozen=True)
class WhatsAppLink:
    person_id: int
    district: str | None
    url: str


def whatsapp_link(
    event: Event, stage: Stage, person: WhatsAppRecipient, sender: Sender
) -> WhatsAppLink:
    """The person's click-to-chat link with their text, and their district as the list names
    it (as the roster wrote it when the list does not know it)."""
    known = load_districts(event.districts).canonical(person.district or "")
    text = whatsapp_text(event, stage, person, sender)
    return WhatsAppLink(
        person.person_id, known.en if known else person.district, click_to_chat(person.phone, text)
    )
