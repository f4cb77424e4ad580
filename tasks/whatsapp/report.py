"""What the WhatsApp channel of a stage did, in the stage's report and `karyashala whatsapp`."""

from pydantic import BaseModel, Field


class WhatsAppReport(BaseModel):
    people: int = Field(description="People the stage reaches on WhatsApp.")
    handed_over: int = Field(description="Messages a coordinator has sent from their phone.")
    waiting: int = Field(description="Messages no coordinator has sent yet.")
    skipped: dict[str, int] = Field(
        default_factory=dict,
        description="People WhatsApp does not reach, by reason (no_phone: mail reaches them; "
        "unreachable: neither mail nor WhatsApp does).",
    )
    coordinator_mails_sent: int = Field(0, description="Coordinators mailed their page's link.")
    links_written_to: str | None = Field(
        None, description="The worksheet or file with every person's WhatsApp link."
    )
