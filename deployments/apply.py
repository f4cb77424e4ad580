"""Put an event's deployments, its work pool, the global rate limits and the automations that
mail its ops on a Prefect server.

Applying is an upsert by name: deploying again updates, never duplicates, and moves every
schedule to the event's current dates; deployments of stages the event no longer has go.
"""

from dataclasses import dataclass

from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
    WorkPoolCreate,
)
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Schedule
from prefect.types.entrypoint import EntrypointType
from prefect.utilities.annotations import freeze

from config.event import Event
from config.settings import SHEETS_RATE_LIMIT, SMTP_RATE_LIMIT, Settings
from deployments.notify import ops_mail, put_ops_notices
from deployments.plan import PlannedDeployment, event_tags, plan_event
from deployments.secrets import existing_secret_settings
from flows.collect_confirmations import collect_confirmations
from flows.press_note import press_note
from flows.send_stage import send_stage
from flows.settle_replies import settle_replies
from flows.sync_roster import sync_roster
from tasks.mail.outbox import LocalOutbox

FLOWS: dict[str, Flow[..., object]] = {
    flow.name: flow  # type: ignore[misc]
    for flow in (sync_roster, send_stage, collect_confirmations, settle_replies, press_note)
}
DEFAULT_SMTP_PER_MINUTE = 60
FIXED = {"stage", "kind"}


@dataclass(frozen=True)
class Deployed:
    full_name: str
    deployment_id: str
    rrule: str | None


@dataclass(frozen=True)
class DeployedEvent:
    deployments: list[Deployed]
    removed: list[str]
    notices: list[str]  # the automations that mail the event's ops
    no_mail_server: bool  # ops are named but no SMTP server is set: their notices stay as they were


def ensure_work_pool(name: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def ensure_rate_limit(name: str, per_minute: int) -> None:
    """A limit of per_minute slots that drain at per_minute a minute: a strict rate."""
    decay = per_minute / 60.0
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(
                    name=name, limit=per_minute, slot_decay_per_second=decay, active=True
                )
            )
            return
        client.update_global_concurrency_limit(
            name,
            GlobalConcurrencyLimitUpdate(
                limit=per_minute, slot_decay_per_second=decay, active=True
            ),
        )


def apply_planned(item: PlannedDeployment, event: Event, settings: Settings) -> str:
    deployment = FLOWS[item.flow_name].to_deployment(
        name=item.name,
        # A stage's or a note kind's deployment is for that one: the run form shows it fixed,
        # and the server refuses a run of it for another stage.
        parameters={
            name: freeze(value) if name in FIXED else value
            for name, value in item.parameters.items()
        },
        description=item.description,
        tags=item.tags,
        schedules=[Schedule(rrule=item.rrule, timezone=event.timezone)] if item.rrule else None,
        entrypoint_type=EntrypointType.MODULE_PATH,
        work_pool_name=settings.work_pool,
        job_variables={"env": {"KARYASHALA_GLOBAL_LIMITS": "true", **existing_secret_settings()}},
    )
    assert isinstance(deployment, RunnerDeployment)  # to_deployment is sync here
    return str(deployment.apply())


def remove_stale(event: Event, keep: set[str]) -> list[str]:
    """Deployments of this event that its file no longer plans (a stage renamed or dropped)."""
    removed = []
    with get_client(sync_client=True) as client:
        found = client.read_deployments(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=event_tags(event)))
        )
        flow_names = {flow.id: flow.name for flow in client.read_flows()}
        for deployment in found:
            full_name = f"{flow_names.get(deployment.flow_id, '?')}/{deployment.name}"
            if full_name not in keep:
                client.delete_deployment(deployment.id)
                removed.append(full_name)
    return removed


def deploy_event(
    event: Event, event_ref: str, settings: Settings, outbox: LocalOutbox | None = None
) -> DeployedEvent:
    """The work pool, the rate limits, every deployment of the event's timeline, and the mail to
    its ops (through KARYASHALA_SMTP_HOST, else through outbox when one is given)."""
    ensure_work_pool(settings.work_pool)
    ensure_rate_limit(SMTP_RATE_LIMIT, settings.smtp_per_minute or DEFAULT_SMTP_PER_MINUTE)
    ensure_rate_limit(SHEETS_RATE_LIMIT, settings.sheets_per_minute)
    plan = plan_event(event, event_ref)
    deployed = [
        Deployed(item.full_name, apply_planned(item, event, settings), item.rrule) for item in plan
    ]
    removed = remove_stale(event, {item.full_name for item in plan})
    block = ops_mail(settings, event.ops, outbox) if event.ops else None
    if event.ops and block is None:
        return DeployedEvent(deployed, removed, [], no_mail_server=True)
    return DeployedEvent(deployed, removed, put_ops_notices(event, block), no_mail_server=False)
