"""`karyashala demo`: the sample workshop from roster to summary (its timeline is in
karyashala/demo.py), on the embedded default or against a local Prefect server with its UI."""

import os
import sys
import time
from typing import Annotated

import typer

from karyashala.cli.common import operator_errors, out

commands = typer.Typer()


@commands.command()
def demo(
    ui: Annotated[
        bool,
        typer.Option(
            "--ui",
            help="Run against a local Prefect server with its UI, deploy the sample event with "
            "a worker to run it, and leave them up.",
        ),
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the Prefect UI (with --ui).")] = 4200,
) -> None:
    """Run the sample workshop on the embedded default: no account, key or server needed."""
    from karyashala.demo import SAMPLE_EVENT, print_demo_report, run_demo_timeline

    if not ui:
        print_demo_report(run_demo_timeline())
        return
    # Else the Ctrl+C this command asks for at the end would stop none of the server, the
    # worker and its runs started below, were the command started in a shell's background.
    from karyashala.prefect_server import take_ctrl_c_back

    take_ctrl_c_back()
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from config.event import load_event
    from config.settings import load_settings
    from deployments.apply import deploy_event
    from deployments.plan import deployment_name
    from karyashala.cli.deploy import print_deployed
    from karyashala.demo import start_review
    from karyashala.prefect_server import prefect_server, prefect_worker
    from tasks.mail.outbox import ensure_local_outbox

    settings = load_settings()
    data_dir = settings.data_dir.resolve()
    log = data_dir / "prefect-server.log"
    worker_log = data_dir / "prefect-worker.log"
    with operator_errors(), prefect_server(data_dir / "prefect", port, log) as url:
        out.print(f"Prefect server with its UI: {url} (log: {log})")
        api_url = f"{url}/api"
        with temporary_settings({PREFECT_API_URL: api_url}):
            print_demo_report(run_demo_timeline())
            out.rule("The sample event, deployed as `karyashala deploy` does")
            event = load_event(SAMPLE_EVENT)
            # Ops mail goes to the local outbox, which this process keeps up as long as the server.
            deployed = deploy_event(event, SAMPLE_EVENT, settings, ensure_local_outbox(data_dir))
            print_deployed(deployed, event, settings.work_pool)
            # The worker's runs start in a folder of their own: the data dir goes to them whole.
            with prefect_worker(
                api_url, settings.work_pool, worker_log, KARYASHALA_DATA_DIR=str(data_dir)
            ):
                review = start_review(f"press-note/{deployment_name(event, 'announcement')}")
                # Syncing the roster ends on its own, with nothing to approve: the one to try.
                first = next(
                    item
                    for item in deployed.deployments
                    if item.full_name == f"sync-roster/{deployment_name(event)}"
                )
                out.print(f"Prefect UI: {url}")
                out.print(
                    f"A worker runs the deployments (log: {worker_log}). Try {first.full_name} "
                    f"first: {url}/deployments/deployment/{first.deployment_id} (Run, then Quick "
                    "run).",
                    soft_wrap=True,
                )
                out.print(
                    f"The announcement waits for review: {url}/runs/flow-run/{review}",
                    soft_wrap=True,
                )
                out.print(
                    "Ops mail (a review waits, a run failed, the daily quota) goes to the local "
                    "outbox: .venv/bin/karyashala outbox",
                    soft_wrap=True,
                )
                out.print("The server and the worker stay up; press Ctrl+C to stop them.")
                try:
                    while True:
                        time.sleep(1)
                except KeyboardInterrupt:
                    out.print("Stopping the worker and the Prefect server.")
    # Prefect's log and event workers would keep trying to reach the server just stopped: leave
    # at once, all files being written.
    sys.stdout.flush()
    os._exit(0)
