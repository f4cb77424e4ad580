"""deployments/prefect.yaml: every entrypoint is a flow of ours and its parameters fit it."""

import importlib

import yaml
from prefect import Flow

from config import PROJECT_DIR
from config.event import load_event


def test_every_deployment_names_a_flow_and_an_event() -> None:
    spec = yaml.safe_load((PROJECT_DIR / "deployments/prefect.yaml").read_text(encoding="utf-8"))
    assert spec["deployments"]
    for deployment in spec["deployments"]:
        path, _, function = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, function)
        assert isinstance(flow, Flow)
        assert deployment["name"].startswith(flow.name)
        event = load_event(deployment["parameters"]["event"])
        assert f"event:{event.id}" in deployment["tags"]
        for schedule in deployment.get("schedules", []):
            assert schedule["timezone"] == "Asia/Kolkata"
