"""Benchmark: send a 5,000-person stage to an SMTP sink in another process, then the same
messages through a bare smtplib loop on one connection; print both rates and their ratio.

Not a test: `.venv/bin/python -m bench.send_wave [--people N] [--stage ID]`.
"""

import argparse
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
    def __init__(self, counter: "Synchronized[int]") -> None:
        self.counter = counter

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def run_sink(port: int, counter: "Synchronized[int]", stop: Any) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(CountingSink(counter), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--stage", default="invitation")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="karyashala-send-"))
    port = free_port()
    counter: Synchronized[int] = multiprocessing.Value("i", 0)
    stop = multiprocessing.Event()
    sink = multiprocessing.Process(target=run_sink, args=(port, counter, stop), daemon=True)
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
    event = str(write_event(work, {"source": "csv", "path": str(roster)}, event_id="bench"))
    sync_roster(event)
    time.sleep(1)

    started = time.perf_counter()
    report = send_stage(event, args.stage)
    ours = time.perf_counter() - started
    assert report.sent == args.people, report
    ours_rate = args.people / ours

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
    bare = time.perf_counter() - started
    bare_rate = args.people / bare
    stop.set()
    sink.join()
    print(
        f"stage={args.stage} people={args.people} "
        f"karyashala: {ours:.2f}s {ours_rate:.0f} msg/s (whole flow: plan, render, ledger, send) | "
        f"bare smtplib: {bare:.2f}s {bare_rate:.0f} msg/s | ratio={ours_rate / bare_rate:.2f} | "
        f"sink received {counter_before} + {counter.value - counter_before}"
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
