"""Benchmark: send a 5,000-person stage to an SMTP sink in another process, on one connection
and on N at once (KARYASHALA_SMTP_CONNECTIONS), then the same messages through a bare smtplib
loop on one connection; print the rates and their ratios.

The sink serves connections side by side; with --server-delay-ms it answers each message that
much later, as a real server across a network does, which is where connections at once pay.

Not a test: `.venv/bin/python -m bench.send_wave [--people N] [--stage ID] [--connections N]
[--server-delay-ms MS]`.
"""

import argparse
import asyncio
import csv
import multiprocessing
import os
import smtplib
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from karyashala.prefect_env import apply_prefect_defaults
from tests.conftest import HEADER, person_row, write_event
from tests.support.smtp_server import free_port


class CountingSink:
    def __init__(self, counter: "Synchronized[int]", delay: float) -> None:
        self.counter = counter
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)  # other connections are served meanwhile
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def run_sink(port: int, counter: "Synchronized[int]", stop: Any, delay: float) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(CountingSink(counter, delay), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--stage", default="invitation")
    parser.add_argument("--connections", type=int, default=4, help="the N to compare with 1")
    parser.add_argument("--server-delay-ms", type=float, default=0.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="karyashala-send-"))
    port = free_port()
    counter: Synchronized[int] = multiprocessing.Value("i", 0)
    stop = multiprocessing.Event()
    sink = multiprocessing.Process(
        target=run_sink, args=(port, counter, stop, args.server_delay_ms / 1000), daemon=True
    )
    sink.start()
    os.environ.update(
        KARYASHALA_DATA_DIR=str(work / "data"),
        KARYASHALA_SMTP_HOST="127.0.0.1",
        KARYASHALA_SMTP_PORT=str(port),
        KARYASHALA_SMTP_SECURITY="none",
        KARYASHALA_MAIL_FROM="invite@karyashala.test",
        KARYASHALA_SMTP_PER_DAY="1000000",
    )
    apply_prefect_defaults()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.send_stage import send_stage
    from flows.sync_roster import sync_roster

    roster = work / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [HEADER]
            + [
                person_row(
                    name=f"व्यक्ति {n}",
                    email=f"p{n}@example.org",
                    phone=f"98{n:08d}",
                    language="English" if n % 5 == 0 else "हिंदी",
                )
                for n in range(args.people)
            ]
        )
    rates = {}
    for connections in dict.fromkeys((1, args.connections)):
        os.environ["KARYASHALA_SMTP_CONNECTIONS"] = str(connections)
        event_id = f"bench-{connections}"
        event = str(write_event(work, {"source": "csv", "path": str(roster)}, event_id=event_id))
        sync_roster(event)
        time.sleep(1)
        started = time.perf_counter()
        report = send_stage(event, args.stage)
        rates[connections] = args.people / (time.perf_counter() - started)
        assert report.sent == args.people, report

    samples = sample_messages(event, args.stage, args.people)
    counter_before = counter.value
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for recipient, subject, text, html, ics in samples:
            message = EmailMessage(policy=SMTP)
            message["From"] = "invite@karyashala.test"
            message["To"] = recipient
            message["Subject"] = subject
            message.set_content(text)
            message.add_alternative(html, subtype="html")
            if ics:
                message.add_attachment(ics, maintype="text", subtype="calendar")
            smtp.sendmail("invite@karyashala.test", [recipient], message.as_bytes())
    bare_rate = args.people / (time.perf_counter() - started)
    stop.set()
    sink.join()
    one, many = rates[1], rates[args.connections]
    print(
        f"stage={args.stage} people={args.people} server delay={args.server_delay_ms:g} ms | "
        f"karyashala (whole flow: plan, render, ledger, send): 1 connection {one:.0f} msg/s, "
        f"{args.connections} connections {many:.0f} msg/s | bare smtplib, 1 connection: "
        f"{bare_rate:.0f} msg/s | ratios to bare: 1 connection {one / bare_rate:.2f}, "
        f"{args.connections} connections {many / bare_rate:.2f}; {args.connections} to 1: "
        f"{many / one:.2f} | sink received {counter_before} + {counter.value - counter_before}"
    )


def sample_messages(event: str, stage: str, count: int) -> list[tuple[str, str, str, str, bytes]]:
    """The same rendered content for the bare loop (rendering it is not timed there)."""
    from config.event import load_event
    from config.settings import load_settings
    from store.models import utc_now
    from tasks.mail.calendar import event_calendar
    from tasks.mail.render import Recipient, render_mail
    from tasks.mail.smtp import sender_for

    config = load_event(event)
    stage_config = config.stage(stage)
    sender = sender_for(load_settings())
    ics = (
        event_calendar(config, "hi", "karyashala.test", utc_now()) if stage_config.calendar else b""
    )
    messages = []
    for n in range(count):
        recipient = Recipient(
            n,
            n + 1,
            f"व्यक्ति {n}",
            "जिला संयोजक",
            "Gurugram",
            f"p{n}@example.org",
            "hi",
            f"<b.{n}@karyashala.test>",
        )
        rendered = render_mail(config, stage_config, recipient, sender)
        messages.append((recipient.email, rendered.subject, rendered.text, rendered.html, ics))
    return messages


if __name__ == "__main__":
    main()
