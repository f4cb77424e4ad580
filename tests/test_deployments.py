"""Deployments: the static on-demand set, and an event's dates as schedules on a server."""

import importlib
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from dateutil.rrule import rrulestr
from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentUpdate
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags
from prefect.exceptions import PrefectHTTPStatusError

from config import PROJECT_DIR
from config.event import load_event
from config.settings import (
    SHEETS_RATE_LIMIT,
    SMTP_RATE_LIMIT,
    load_settings,
    secret_block_value,
)
from deployments.apply import deploy_event
from deployments.plan import plan_event
from deployments.secrets import existing_secret_settings
from tests.conftest import write_event


def test_every_on_demand_deployment_names_a_flow() -> None:
    spec = yaml.safe_load((PROJECT_DIR / "deployments/prefect.yaml").read_text(encoding="utf-8"))
    flows = set()
    for deployment in spec["deployments"]:
        path, _, function = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, function)
        assert isinstance(flow, Flow)
        assert deployment["work_pool"]["name"] == load_settings().work_pool
        flows.add(flow.name)
    assert flows == {"sync-roster", "send-stage", "collect-confirmations", "press-note"}


def test_every_flow_parameter_is_described_for_the_run_form() -> None:
    from deployments.apply import FLOWS

    for flow in FLOWS.values():
        schema = flow.parameters.model_dump()
        for name, spec in schema["properties"].items():
            assert spec.get("description"), f"{flow.name}: {name} has no description"


def test_names_start_with_what_differs_and_stay_unique_across_events() -> None:
    workshop = load_event("haryana-it-workshop")
    another = workshop.model_copy(update={"id": "punjab-it-workshop"})
    names = {item.full_name for item in plan_event(workshop, workshop.id)}
    assert names == {
        "sync-roster/haryana-it-workshop",
        "collect-confirmations/haryana-it-workshop",
        "settle-replies/haryana-it-workshop",
        "press-note/announcement · haryana-it-workshop",
        "press-note/summary · haryana-it-workshop",
        *(f"send-stage/{stage.id} · haryana-it-workshop" for stage in workshop.stages),
    }
    for name in names:  # the UI's list shows about 18 characters of a name
        lead, _, event = name.partition("/")[2].rpartition(" · ")
        assert event == workshop.id and len(lead) <= 18
    both = [item.full_name for event in (workshop, another) for item in plan_event(event, event.id)]
    assert len(set(both)) == len(both)


def server_deployments(event_id: str) -> dict[str, Any]:
    with get_client(sync_client=True) as client:
        found = client.read_deployments(
            deployment_filter=DeploymentFilter(
                tags=DeploymentFilterTags(all_=[f"event:{event_id}"])
            )
        )
        flows = {flow.id: flow.name for flow in client.read_flows()}
    return {f"{flows[d.flow_id]}/{d.name}": d for d in found}


def occurrences(deployment: Any) -> list[datetime]:
    """Every instant the deployment's schedule fires, as aware times."""
    (schedule,) = deployment.schedules
    rule = schedule.schedule
    zone = ZoneInfo(rule.timezone)
    return [moment.replace(tzinfo=zone) for moment in rrulestr(rule.rrule)]


def move_event(path: Path, days: int, drop_stage: str | None = None) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["starts_at"] = (data["starts_at"] + timedelta(days=days)).isoformat()
    if drop_stage:
        data["stages"] = [stage for stage in data["stages"] if stage["id"] != drop_stage]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.usefixtures("prefect_api_url", "karyashala_env")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_schedules_fire_once_at_the_right_instant_and_move_with_the_date(
    tmp_path: Path,
) -> None:
    path = write_event(tmp_path, {"source": "csv", "path": "roster.csv"}, "schedule-test")
    event = load_event(path)
    settings = load_settings()
    deploy_event(event, str(path), settings)
    first = server_deployments(event.id)
    assert set(first) == {item.full_name for item in plan_event(event, str(path))}
    for stage in event.stages:
        deployment = first[f"send-stage/{stage.id} · schedule-test"]
        assert occurrences(deployment) == [stage.runs_at(event.starts_at)]
        assert deployment.parameters == {"event": str(path), "stage": stage.id}
        assert "event:schedule-test" in deployment.tags
    invitation = first["send-stage/invitation · schedule-test"]
    assert occurrences(invitation)[0].isoformat() == "2027-11-24T10:00:00+05:30"
    # A stage's deployment sends that stage only: the run form shows it fixed, and the server
    # refuses a run of it for another stage.
    stage_field = invitation.parameter_openapi_schema["properties"]["stage"]
    assert stage_field["readOnly"] is True and stage_field["enum"] == ["invitation"]
    with get_client(sync_client=True) as client, pytest.raises(PrefectHTTPStatusError):
        client.create_flow_run_from_deployment(
            invitation.id, parameters={"event": str(path), "stage": "reminder"}
        )
    hourly = occurrences(first["collect-confirmations/schedule-test"])
    assert hourly[-1] <= event.ends_at + timedelta(hours=1) < hourly[-1] + timedelta(hours=1)
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(hourly))
    (summary_time,) = occurrences(first["press-note/summary · schedule-test"])
    assert summary_time == event.ends_at + timedelta(hours=2)
    assert first["press-note/announcement · schedule-test"].schedules == []

    # A deployment made by an older layout points at a module that has moved: deploying again
    # moves it to where its flow lives now, keeping its id.
    with get_client(sync_client=True) as client:
        client.update_deployment(
            first["sync-roster/schedule-test"].id,
            DeploymentUpdate(entrypoint="tasks.roster_source.sync_roster"),
        )
    deploy_event(event, str(path), settings)
    again = server_deployments(event.id)
    assert {name: d.id for name, d in again.items()} == {name: d.id for name, d in first.items()}
    assert again["sync-roster/schedule-test"].entrypoint == "flows.sync_roster.sync_roster"
    assert {d.entrypoint for d in again.values()} == {
        f"flows.{module}.{module}"
        for module in (
            "sync_roster",
            "send_stage",
            "collect_confirmations",
            "settle_replies",
            "press_note",
        )
    }

    move_event(path, days=7, drop_stage="thank-you")
    moved_event = load_event(path)
    removed = deploy_event(moved_event, str(path), settings).removed
    moved = server_deployments(event.id)
    assert removed == ["send-stage/thank-you · schedule-test"]
    assert "send-stage/thank-you · schedule-test" not in moved
    for stage in moved_event.stages:
        name = f"send-stage/{stage.id} · schedule-test"
        deployment, before = moved[name], first[name]
        assert deployment.id == before.id
        assert occurrences(deployment) == [stage.runs_at(moved_event.starts_at)]
        assert occurrences(deployment)[0] - occurrences(before)[0] == timedelta(days=7)
    with get_client(sync_client=True) as client:
        smtp_limit = client.read_global_concurrency_limit_by_name(SMTP_RATE_LIMIT)
        sheets_limit = client.read_global_concurrency_limit_by_name(SHEETS_RATE_LIMIT)
        pool = client.read_work_pool(settings.work_pool)
    assert (smtp_limit.limit, smtp_limit.slot_decay_per_second) == (60, 1.0)
    assert sheets_limit.limit == settings.sheets_per_minute
    assert pool.type == "process"


@pytest.mark.usefixtures("prefect_api_url")
def test_secrets_become_blocks_and_are_never_printed(tmp_path: Path, prefect_api_url: str) -> None:
    credentials = tmp_path / "service-account.json"
    credentials.write_text(json.dumps({"type": "service_account", "private_key": "KEY-77"}))
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api_url,
        "COLUMNS": "200",
        "KARYASHALA_SMTP_PASSWORD": "smtp-secret-4411",
        "KARYASHALA_GOOGLE_CREDENTIALS_PATH": str(credentials),
    }
    env.pop("KARYASHALA_SIGNING_KEY", None)
    env.pop("KARYASHALA_IMAP_PASSWORD", None)
    result = subprocess.run(
        [sys.executable, "-m", "karyashala.cli", "secrets", "create"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    for secret in ("smtp-secret-4411", "KEY-77"):
        assert secret not in result.stdout + result.stderr
    assert "karyashala-smtp-password" in result.stdout
    assert secret_block_value("karyashala-smtp-password") == "smtp-secret-4411"
    assert secret_block_value("karyashala-google-service-account")["private_key"] == "KEY-77"
    assert existing_secret_settings() == {
        "KARYASHALA_SMTP_PASSWORD_BLOCK": "karyashala-smtp-password",
        "KARYASHALA_GOOGLE_CREDENTIALS_BLOCK": "karyashala-google-service-account",
    }


def test_deploy_without_a_server_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    result = subprocess.run(
        [sys.executable, "-m", "karyashala.cli", "deploy", "--event", "haryana-it-workshop"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**env, "KARYASHALA_DATA_DIR": str(tmp_path), "COLUMNS": "200"},
    )
    assert result.returncode == 2
    assert "set PREFECT_API_URL" in result.stderr and "Traceback" not in result.stderr
