"""One event's timeline as deployments and schedules. Pure: no server.

A fixed date is a one-off RRule (COUNT=1) in the event's time zone, because a cron for a date
repeats every year; hourly work is an RRule bounded by UNTIL, so it stops after the event.

A deployment's name starts with what tells it apart from its flow's others (the stage, the kind
of note): the UI's list shows about 18 characters of a name. The event follows, since a name is
unique per flow across events; the event's tag and the description say it in full too.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from config.event import Event

SYNC_DAYS_BEFORE = 21
COLLECT_HOURS_AFTER = 1
SUMMARY_HOURS_AFTER = 2


@dataclass(frozen=True)
class PlannedDeployment:
    flow_name: str
    name: str
    parameters: dict[str, object]
    description: str
    rrule: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"


def local_stamp(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y%m%dT%H%M%S")


def once(moment: datetime, timezone: str) -> str:
    return f"DTSTART:{local_stamp(moment, timezone)}\nRRULE:FREQ=DAILY;COUNT=1"


def hourly(start: datetime, until: datetime, timezone: str) -> str:
    first = start.astimezone(ZoneInfo(timezone)).replace(minute=0, second=0, microsecond=0)
    return (
        f"DTSTART:{local_stamp(first, timezone)}\n"
        f"RRULE:FREQ=HOURLY;UNTIL={local_stamp(until, timezone)}"
    )


def event_tags(event: Event) -> list[str]:
    return ["karyashala", f"event:{event.id}"]


def deployment_name(event: Event, part: str | None = None) -> str:
    """The part that differs first, then the event: `invitation · haryana-it-workshop`."""
    return event.id if part is None else f"{part} · {event.id}"


def plan_event(event: Event, event_ref: str) -> list[PlannedDeployment]:
    """sync hourly from weeks before; each stage once at its time; collect hourly until the
    event is over; the summary note once after it; the announcement and the settling of
    waiting replies on demand."""
    zone = event.timezone
    tags = event_tags(event)
    stage_times = [stage.runs_at(event.starts_at) for stage in event.stages]
    first_stage = min(stage_times, default=event.starts_at)
    sync_from = min(event.starts_at - timedelta(days=SYNC_DAYS_BEFORE), first_stage)
    collect_until = event.ends_at + timedelta(hours=COLLECT_HOURS_AFTER)
    plan = [
        PlannedDeployment(
            "sync-roster",
            deployment_name(event),
            {"event": event_ref},
            f"Roster of {event.id}: hourly from {SYNC_DAYS_BEFORE} days before until it ends.",
            hourly(sync_from, event.ends_at, zone),
            [*tags, "roster"],
        ),
        PlannedDeployment(
            "collect-confirmations",
            deployment_name(event),
            {"event": event_ref},
            f"Answers and attendance of {event.id}: hourly from the first mail until an hour "
            "after it ends.",
            hourly(first_stage, collect_until, zone),
            [*tags, "answers"],
        ),
        PlannedDeployment(
            "settle-replies",
            deployment_name(event),
            {"event": event_ref},
            f"Replies by mail to {event.id} that wait for a person, as a form; run on demand.",
            None,
            [*tags, "answers"],
        ),
        PlannedDeployment(
            "press-note",
            deployment_name(event, "announcement"),
            {"event": event_ref, "kind": "announcement", "review": True},
            f"The announcement of {event.id}, run on demand; waits for review.",
            None,
            [*tags, "press"],
        ),
        PlannedDeployment(
            "press-note",
            deployment_name(event, "summary"),
            {"event": event_ref, "kind": "summary", "review": True},
            f"The summary of {event.id}, {SUMMARY_HOURS_AFTER} hours after it ends; waits for "
            "review.",
            once(event.ends_at + timedelta(hours=SUMMARY_HOURS_AFTER), zone),
            [*tags, "press"],
        ),
    ]
    for stage, runs_at in zip(event.stages, stage_times, strict=True):
        plan.append(
            PlannedDeployment(
                "send-stage",
                deployment_name(event, stage.id),
                {"event": event_ref, "stage": stage.id},
                f"The {stage.id} mails of {event.id}, once, at "
                f"{runs_at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone}).",
                once(runs_at, zone),
                [*tags, "mail", f"stage:{stage.id}"],
            )
        )
    return plan
