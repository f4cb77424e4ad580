"""Mail to an event's ops when a run needs them, as Prefect automations the server runs itself:
a stage or a press note waits for review, a run failed or crashed, a stage stopped at the daily
quota. Each mail is in Hindi and English and links to the run in the Prefect UI.

The texts are Prefect's Jinja templates under notices/ (the first line the subject, then a blank
line and the body), rendered by the server when the automation fires.
"""

from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from uuid import UUID

from prefect.automations import AutomationCore, EventTrigger, SendNotification
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.exceptions import ObjectNotFound
from pydantic import SecretStr

from config.errors import KaryashalaError
from config.event import Event
from config.settings import Settings
from deployments.blocks import SMTPEmail
from deployments.plan import event_tags
from deployments.secrets import existing_secret_settings
from tasks.mail.outbox import LocalOutbox
from tasks.mail.smtp import QUOTA_REACHED, smtp_password

NOTICES_DIR = Path(__file__).with_name("notices")
NOTICE_TAG = "ops-mail"
# What send-stage emits when the mailbox's daily quota stops a stage; its resource is the stage
# (`karyashala.stage.<event>.<stage>`, labels karyashala.event and karyashala.stage) and its
# payload says why (`stopped`).
DEFAULT_SMTP_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


@dataclass(frozen=True)
class Notice:
    """One kind of mail: the template it is written from and the events that send it."""

    template: str
    about: str
    expect: str
    match: dict[str, str | list[str]]

    def automation(self, event: Event, block_id: UUID) -> AutomationCore:
        subject, _, body = (
            (NOTICES_DIR / f"{self.template}.txt.j2").read_text("utf-8").partition("\n\n")
        )
        return AutomationCore(
            name=f"{event.id}: mail ops when {self.about}",
            description=f"Mails the ops of {event.id} (the event file's `ops`) when {self.about}.",
            tags=[*event_tags(event), NOTICE_TAG],
            trigger=EventTrigger(
                expect={self.expect},
                match=self.match,
                # Every run of the event's deployments carries the event's tag.
                match_related={
                    "prefect.resource.role": "tag",
                    "prefect.resource.id": f"prefect.tag.event:{event.id}",
                },
                posture="Reactive",
                threshold=1,
                within=timedelta(0),
            ),
            actions=[SendNotification(block_document_id=block_id, subject=subject, body=body)],
        )


FLOW_RUN = "prefect.flow-run.*"
NOTICES = (
    # By state type, not name: a Suspended run is PAUSED, a TimedOut one FAILED.
    Notice(
        "review",
        "a run waits for review",
        FLOW_RUN,
        {"prefect.resource.id": FLOW_RUN, "prefect.state-type": ["PAUSED"]},
    ),
    Notice(
        "failed",
        "a run failed or crashed",
        FLOW_RUN,
        {"prefect.resource.id": FLOW_RUN, "prefect.state-type": ["FAILED", "CRASHED"]},
    ),
    Notice(
        "quota",
        "a stage stopped at the daily quota",
        QUOTA_REACHED,
        {"prefect.resource.id": "karyashala.stage.*"},
    ),
)


def ops_mail_block_name(event: Event) -> str:
    return f"ops-mail-{event.id}"


def ops_mail(settings: Settings, to: list[str], outbox: LocalOutbox | None) -> SMTPEmail | None:
    """The block that mails ops: through KARYASHALA_SMTP_HOST, else through the local outbox
    given, which must outlive the automations (the demo's); None with neither."""
    if settings.smtp_host is None:
        if outbox is None:
            return None
        return SMTPEmail(
            host=outbox.host,
            port=outbox.port,
            security="none",
            from_address=settings.mail_from,
            to=to,
        )
    return SMTPEmail(
        host=settings.smtp_host,
        port=settings.smtp_port or DEFAULT_SMTP_PORTS[settings.smtp_security],
        security=settings.smtp_security,
        username=settings.smtp_user,
        password=login_password(settings) if settings.smtp_user else None,
        from_address=settings.mail_from,
        to=to,
    )


def login_password(settings: Settings) -> SecretStr | None:
    """The SMTP password the runs use: set, or in the Secret block `karyashala secrets create`
    saved, which deploying gives the runs too."""
    if settings.smtp_password is None and settings.smtp_password_block is None:
        saved = existing_secret_settings().get("KARYASHALA_SMTP_PASSWORD_BLOCK")
        settings = settings.model_copy(update={"smtp_password_block": saved})
    password = smtp_password(settings)
    return SecretStr(password) if password else None


def put_ops_notices(event: Event, block: SMTPEmail | None) -> list[str]:
    """The event's notice automations, created or updated by name, and the block they mail
    through; with no block (the event names no ops) the event's notices go. Returns the names
    of the automations in place."""
    with get_client(sync_client=True) as client:
        planned: list[AutomationCore] = []
        if block is not None:
            check_block_entry_point()
            block_id = block.save(ops_mail_block_name(event), overwrite=True)
            assert isinstance(block_id, UUID)  # save is sync here
            planned = [notice.automation(event, block_id) for notice in NOTICES]
        for automation in planned:
            upsert_automation(client, automation)
        keep = {automation.name for automation in planned}
        for stale in client.read_automations():
            ours = NOTICE_TAG in stale.tags and f"event:{event.id}" in stale.tags
            if ours and stale.name not in keep:
                client.delete_automation(stale.id)
        if block is None:
            remove_block(client, ops_mail_block_name(event))
    return sorted(keep)


def check_block_entry_point() -> None:
    """The Prefect server finds our block's class through this package's entry point; an install
    older than the entry point would take the automations and fail every mail."""
    if not any(
        point.value == SMTPEmail.__module__ for point in entry_points(group="prefect.collections")
    ):
        raise KaryashalaError(
            "This install of Karyashala lacks the entry point that gives the Prefect server its "
            "mail block: run `.venv/bin/pip install --no-deps -e .` here and where the server "
            "runs, restart the server, and deploy again."
        )


def upsert_automation(client: SyncPrefectClient, automation: AutomationCore) -> None:
    """Names are not unique on the server: update the first of this name, delete the others."""
    existing = client.read_automations_by_name(automation.name)
    if not existing:
        client.create_automation(automation)
        return
    first, *others = existing
    client.update_automation(first.id, automation)
    for other in others:
        client.delete_automation(other.id)


def remove_block(client: SyncPrefectClient, name: str) -> None:
    try:
        found = client.read_block_document_by_name(name, SMTPEmail.get_block_type_slug())
    except ObjectNotFound:
        return
    client.delete_block_document(found.id)


def server_ui_url() -> str | None:
    """The Prefect server's own PREFECT_UI_URL, which the links in the mails are made from."""
    with get_client(sync_client=True) as client:
        response = client.request("GET", "/admin/settings")
        response.raise_for_status()
        value = response.json().get("ui_url")
    return str(value) if value else None
