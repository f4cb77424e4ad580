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
        typer.Option("--ui", help="Run against a local Prefect server with its UI; leave it up."),
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the Prefect UI (with --ui).")] = 4200,
) -> None:
    """Run the sample workshop on the embedded default: no account, key or server needed."""
    from karyashala.demo import SAMPLE_EVENT, print_demo_report, run_demo_timeline

    if not ui:
        print_demo_report(run_demo_timeline())
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from config.settings import load_settings
    from karyashala.demo import start_review
    from karyashala.prefect_server import prefect_server

    data_dir = load_settings().data_dir.resolve()
    log = data_dir / "prefect-server.log"
    with operator_errors(), prefect_server(data_dir / "prefect", port, log) as url:
        out.print(f"Prefect server with its UI: {url} (log: {log})", highlight=False)
        with temporary_settings({PREFECT_API_URL: f"{url}/api"}):
            print_demo_report(run_demo_timeline())
            review = start_review(SAMPLE_EVENT, "announcement")
        out.print(f"Prefect UI: {url}", highlight=False)
        out.print(
            f"The announcement waits for review: {url}/runs/flow-run/{review}",
            highlight=False,
            soft_wrap=True,
        )
        out.print("The server stays up; press Ctrl+C to stop it.")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            out.print("Stopping the Prefect server.")
    # The review run still waits in its thread, and Prefect's log and event workers would keep
    # trying to reach the server just stopped: leave at once, all files being written.
    sys.stdout.flush()
    os._exit(0)
