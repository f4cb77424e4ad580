"""collect-confirmations reads the reply inbox (Debian's dovecot on loopback): replies become
answers, bounces unusable addresses, auto-replies nothing; what is unclear waits for a person
and is settled from the command line or the settle-replies form."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.collect_confirmations import collect_confirmations
from flows.send_stage import send_stage
from flows.settle_replies import settle_replies
from flows.sync_roster import sync_roster
from store.db import engine_for
from store.models import InboxMessage, Message, Person, Response, utc_now
from tasks.replies.mailbox import InboxError
from tests.conftest import HEADER, person_row, write_event
from tests.support.fake_sheets import FakeSheets
from tests.support.imap_server import DovecotServer, DroppingRelay
from tests.support.smtp_server import LoopbackSMTPServer
from tests.test_send_stage import resume_when_paused

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")
KEY = "reply-inbox-sheet"
SHEET = "सूची"
CONVENER = "जिला संयोजक"
PEOPLE = {
    "rajesh": ("राजेश शर्मा", "Gurgaon", "rajesh@example.org", "9812300001"),
    "sunil": ("सुनील यादव", "Rohtak", "sunil@example.org", "9812300002"),
    "anita": ("अनीता देवी", "Hisar", "anita@example.org", "9812300003"),
    "mahesh": ("महेश गोयल", "Sirsa", "mahesh@example.org", "9812300004"),
    "dead1": ("विनोद कुमार", "Jind", "vinod@gone.example.org", "9812300005"),
    "dead2": ("पूजा रानी", "Karnal", "pooja@gone.example.org", "9812300006"),
    "dead3": ("अमित सैनी", "Panipat", "amit@gone.example.org", "9812300007"),
    "away": ("संदीप मलिक", "Sonipat", "sandeep@example.org", "9812300008"),
    "asks": ("कविता जांगड़ा", "Bhiwani", "kavita@example.org", "9812300009"),
    "slow": ("रवि दलाल", "Jhajjar", "ravi@slow.example.org", "9812300010"),
}
STRANGER = "someone.else@elsewhere.example"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    with DovecotServer() as server:
        yield server


@pytest.fixture
def inbox(dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> DovecotServer:
    """A folder of its own in the reply inbox for this test, and the settings that read it."""
    folder = f"replies-{uuid.uuid4().hex[:8]}"
    connection = dovecot.client()
    assert connection.create(folder)[0] == "OK"
    connection.logout()
    settings = {
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": str(dovecot.port),
        "IMAP_SECURITY": "none",
        "IMAP_USER": dovecot.user,
        "IMAP_PASSWORD": dovecot.password,
        "IMAP_FOLDER": folder,
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"KARYASHALA_{name}", value)
    return dovecot


def folder() -> str:
    return os.environ["KARYASHALA_IMAP_FOLDER"]


def sheet_rows() -> list[list[str]]:
    return [
        person_row(name=name, district=district, email=email, phone=phone)
        for name, district, email, phone in PEOPLE.values()
    ]


@pytest.fixture
def invited(
    tmp_path: Path, fake_sheets: FakeSheets, smtp: LoopbackSMTPServer, inbox: DovecotServer
) -> str:
    """The event synced from the sheet and its invitation sent: the ledger holds the
    Message-IDs that replies answer."""
    fake_sheets.add_spreadsheet(KEY, {SHEET: [HEADER, *sheet_rows()]})
    path = write_event(tmp_path, {"source": "sheets", "spreadsheet_key": KEY, "worksheet": SHEET})
    sync_roster(str(path))
    assert send_stage(str(path), "invitation").sent == len(PEOPLE)
    return str(path)


def message_ids(database_url: str) -> dict[str, str]:
    with Session(engine_for(database_url)) as session:
        rows = session.execute(
            select(Person.email, Message.message_id)
            .join(Message, Message.person_id == Person.id)
            .where(Message.stage == "invitation")
        )
        return {str(email): message_id for email, message_id in rows}


def reply(
    sender: str,
    text: str,
    in_reply_to: str | None = None,
    html: str | None = None,
    subject: str = "Re: कार्यशाला का निमंत्रण",
    **headers: str,
) -> bytes:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = sender
    mail["To"] = "media@karyashala.test"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(utc_now())
    mail["Message-ID"] = make_msgid(domain="mail.example.org")
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    if text:
        mail.set_content(text)
    if html is not None:
        if text:
            mail.add_alternative(html, subtype="html")
        else:
            mail.set_content(html, subtype="html")
    return mail.as_bytes()


def dsn(
    reporter: str,
    subject: str,
    recipient: str,
    original_id: str,
    action: str = "failed",
    status: str = "5.1.1",
    note: str = "The email account that you tried to reach does not exist.",
) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix, Gmail and Exchange send them."""
    boundary = uuid.uuid4().hex
    return (
        f"From: {reporter}\r\nTo: media@karyashala.test\r\nSubject: {subject}\r\n"
        f"Date: {format_datetime(utc_now())}\r\nMessage-ID: {make_msgid(domain='mx.example.net')}"
        "\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"'
        f"\r\n\r\n--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"Delivery to {recipient} {action}.\r\n{note}\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nDiagnostic-Code: smtp; 550 {status} {note}"
        f"\r\n\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: invite@karyashala.test\r\nTo: {recipient}\r\nSubject: invitation\r\n"
        f"Message-ID: {original_id}\r\n\r\n--{boundary}--\r\n"
    ).encode()


def the_inbox(ids: dict[str, str]) -> list[bytes]:
    quote_hi = (
        "\n\nसोम, 22 नव॰ 2027 को 10:00 am बजे मीडिया प्रकोष्ठ <media@karyashala.test> ने "
        "लिखा:\n> आदरणीय राजेश जी,\n> आप आमंत्रित हैं।\n"
    )
    outlook = (
        "Sorry, can't make it this time - family function.\n\nRegards,\nAnita Devi\n\n"
        "________________________________\nFrom: Media Cell <media@karyashala.test>\n"
        "Sent: Monday, November 22, 2027 10:00 AM\nTo: anita@example.org\n"
        "Subject: कार्यशाला का निमंत्रण\n\nआदरणीय अनीता जी, आप आमंत्रित हैं। yes / no\n"
    )
    deputy_html = (
        "<div dir='auto'>मैं नहीं आ पाऊँगा, मेरी जगह सह संयोजक रमेश कुमार जी आएंगे।</div>"
        "<div class='gmail_quote'><div class='gmail_attr'>सोम, 22 नव॰ 2027 को मीडिया प्रकोष्ठ "
        "ने लिखा:</div><blockquote>आप आएँगे? हाँ / नहीं</blockquote></div>"
    )
    return [
        reply("राजेश <rajesh@example.org>", "जी हाँ, आऊँगा" + quote_hi, ids["rajesh@example.org"]),
        # no In-Reply-To: matched by the sender's address
        reply("Sunil <Sunil@Example.org>", "haan ji pahunch jaunga\n\nSent from my iPhone"),
        reply("anita@example.org", outlook, ids["anita@example.org"]),
        reply("mahesh@example.org", "", ids["mahesh@example.org"], html=deputy_html),
        dsn(
            "MAILER-DAEMON@mx.example.net (Mail Delivery System)",
            "Undelivered Mail Returned to Sender",
            "vinod@gone.example.org",
            ids["vinod@gone.example.org"],
            note="User unknown in virtual mailbox table",
        ),
        dsn(
            "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
            "Delivery Status Notification (Failure)",
            "pooja@gone.example.org",
            ids["pooja@gone.example.org"],
        ),
        dsn(
            "postmaster@outlook.com",
            "Undeliverable: कार्यशाला का निमंत्रण",
            "amit@gone.example.org",
            ids["amit@gone.example.org"],
            status="5.1.10",
            note="RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        ),
        dsn(
            "MAILER-DAEMON@mx.example.net",
            "Delayed Mail (still being retried)",
            "ravi@slow.example.org",
            ids["ravi@slow.example.org"],
            action="delayed",
            status="4.4.1",
            note="Connection timed out",
        ),
        reply(
            "sandeep@example.org",
            "I am out of the office until 5 December. Yes, I will reply when back.",
            ids["sandeep@example.org"],
            subject="Automatic reply: कार्यशाला का निमंत्रण",
            Auto_Submitted="auto-replied",
        ),
        reply("kavita@example.org", "क्या लैपटॉप लाना है?", ids["kavita@example.org"]),
        reply(STRANGER, 'Yes, I will come. =HYPERLINK("http://x")\r\n<b>bold</b>'),
    ]


def responses(database_url: str) -> dict[str, tuple[str, str | None, str | None]]:
    with Session(engine_for(database_url)) as session:
        rows = session.execute(
            select(Person.email, Response.answer, Response.deputy_name, Response.raw_text)
            .join(Person, Person.id == Response.person_id)
            .where(Response.channel == "reply")
        )
        return {str(email): (answer, deputy, text) for email, answer, deputy, text in rows}


def status_column(fake: FakeSheets) -> dict[str, str]:
    values = fake.values(KEY, SHEET)
    column = values[0].index("स्थिति / Status")
    email_at = values[0].index("ईमेल")
    return {row[email_at]: row[column] for row in values[1:]}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "karyashala.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "250"},
    )


def test_replies_and_bounces_become_statuses_everywhere(
    invited: str,
    inbox: DovecotServer,
    database_url: str,
    fake_sheets: FakeSheets,
    smtp: LoopbackSMTPServer,
) -> None:
    inbox.append(*the_inbox(message_ids(database_url)), folder=folder())
    report = collect_confirmations(invited)
    assert report.replies_read == 11
    assert report.new_reply_answers == 4
    assert (report.bounces_permanent, report.bounces_temporary) == (3, 1)
    assert (report.auto_replies, report.replies_unmatched, report.replies_waiting) == (1, 1, 2)
    assert (report.confirmed, report.declined, report.deputy, report.bounced) == (2, 1, 1, 3)

    answers = responses(database_url)
    assert answers["rajesh@example.org"] == ("yes", None, "जी हाँ, आऊँगा")  # no quote kept
    assert answers["sunil@example.org"][:2] == ("yes", None)
    assert answers["anita@example.org"][0] == "no"
    assert "Media Cell" not in (answers["anita@example.org"][2] or "")
    assert answers["mahesh@example.org"][:2] == ("deputy", "रमेश कुमार")
    assert "sandeep@example.org" not in answers  # an auto-reply is no answer
    with Session(engine_for(database_url)) as session:
        matched = {
            sender: by
            for sender, by in session.execute(select(InboxMessage.sender, InboxMessage.matched_by))
        }
        bounced_rows = session.execute(
            select(Person.email, Message.status, Message.failure)
            .join(Message, Message.person_id == Person.id)
            .where(Message.failure == "bounced")
        ).all()
    assert matched["sunil@example.org"] == "sender"
    assert matched["rajesh@example.org"] == "message_id"
    assert sorted(str(email) for email, _, _ in bounced_rows) == [
        "amit@gone.example.org",
        "pooja@gone.example.org",
        "vinod@gone.example.org",
    ]
    assert {(status, failure) for _, status, failure in bounced_rows} == {("failed", "bounced")}

    statuses = status_column(fake_sheets)
    assert statuses["rajesh@example.org"] == "आ रहे हैं / confirmed"
    assert statuses["anita@example.org"] == "नहीं आ रहे / declined"
    assert statuses["mahesh@example.org"] == "प्रतिनिधि / deputy"
    assert statuses["vinod@gone.example.org"] == "ईमेल लौट आया: फ़ोन करें / mail bounced: call them"
    assert statuses["ravi@slow.example.org"] == "उत्तर नहीं / no answer"  # delayed: counted only
    assert statuses["sandeep@example.org"] == "उत्तर नहीं / no answer"

    flags = inbox.flags(folder())
    assert len(flags) == 11 and all("$KaryashalaRead" in f and "\\Seen" not in f for f in flags)

    status = run_cli("status", "--event", invited, "--json")
    assert status.returncode == 0, status.stderr
    counts = json.loads(status.stdout)
    assert (counts["confirmed"], counts["bounced"], counts["replies_waiting"]) == (2, 3, 2)
    human = run_cli("status", "--event", invited)
    calls = [line for line in human.stdout.splitlines() if "+919812300005" in line]
    assert calls and "mail bounced: call them" in calls[0]

    again = collect_confirmations(invited)  # a rerun counts nothing twice
    assert (again.replies_read, again.new_reply_answers, again.bounces_permanent) == (0, 0, 0)
    assert len(responses(database_url)) == 4

    reminder = send_stage(invited, "reminder")
    assert reminder.skipped.get("bounced") == 3
    reminded = {
        a for item in smtp.received if ".reminder." in item.message_id for a in item.recipients
    }
    assert reminded and "vinod@gone.example.org" not in reminded
    with Session(engine_for(database_url)) as session:
        skipped = session.execute(
            select(Person.email, Message.skip_reason)
            .join(Message, Message.person_id == Person.id)
            .where(Message.stage == "reminder", Message.status == "skipped")
        ).all()
    assert ("vinod@gone.example.org", "bounced") in skipped

    resync = sync_roster(invited)
    assert resync.problem_counts.get("email_bounced") == 3
    problems = fake_sheets.values(KEY, "Problems / समस्याएँ")
    bounced_problems = [row for row in problems if "email_bounced" in row]
    assert sorted(int(row[0]) for row in bounced_problems) == [6, 7, 8]
    assert all("vinod@" not in cell for row in problems for cell in row)  # no address repeated

    # ops give Vinod another address: the problem goes, and so does the skip
    rows = fake_sheets.spreadsheets[KEY][SHEET].rows
    rows[5][5] = "vinod.kumar@example.org"
    fixed = sync_roster(invited)
    assert fixed.problem_counts.get("email_bounced") == 2
    after_fix = collect_confirmations(invited)
    assert after_fix.bounced == 2


def test_waiting_replies_are_settled_from_the_command_line(
    invited: str, inbox: DovecotServer, database_url: str
) -> None:
    inbox.append(*the_inbox(message_ids(database_url)), folder=folder())
    collect_confirmations(invited)
    listed = run_cli("replies", "--event", invited, "--json")
    assert listed.returncode == 0, listed.stderr
    waiting = {
        item["sender"] or item["name"]: item for item in json.loads(listed.stdout)["waiting"]
    }
    assert set(waiting) == {"कविता जांगड़ा", STRANGER}
    question, stranger = waiting["कविता जांगड़ा"], waiting[STRANGER]
    assert question["seemed"] == "question" and question["text"] == "क्या लैपटॉप लाना है?"

    settled = run_cli(
        "replies", "settle", "--event", invited, "--answer", "confirmed", str(question["id"])
    )
    assert settled.returncode == 0, settled.stderr
    assert responses(database_url)["kavita@example.org"][0] == "yes"

    nobody = run_cli(
        "replies", "settle", "--event", invited, "--answer", "declined", str(stranger["id"])
    )
    assert nobody.returncode == 2 and "give the roster row" in nobody.stderr
    twice = run_cli(
        "replies", "settle", "--event", invited, "--answer", "declined", str(question["id"])
    )
    assert twice.returncode == 2 and "does not wait any more" in twice.stderr
    by_row = run_cli(
        "replies", "settle", "--event", invited, "--answer", "declined", "--row", "9",
        "--json", str(stranger["id"]),
    )  # fmt: skip
    assert by_row.returncode == 0, by_row.stderr
    assert json.loads(by_row.stdout)["still_waiting"] == 0
    assert responses(database_url)["sandeep@example.org"][0] == "no"  # row 9: the person
    assert collect_confirmations(invited).replies_waiting == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_waiting_reply_is_settled_in_the_form_of_a_paused_run(
    invited: str, inbox: DovecotServer, database_url: str
) -> None:
    ids = message_ids(database_url)
    inbox.append(
        reply("kavita@example.org", "Kal batata hoon", ids["kavita@example.org"]), folder=folder()
    )
    collect_confirmations(invited)
    with Session(engine_for(database_url)) as session:
        waiting_id = session.scalars(
            select(InboxMessage.id).where(InboxMessage.state == "waiting")
        ).one()
    resumer = resume_when_paused(
        {f"reply_{waiting_id}": "deputy", f"reply_{waiting_id}_deputy": "सुरेश सैनी"}
    )
    report = settle_replies(invited)
    resumer.join(timeout=10)
    assert report.answered == [waiting_id] and report.still_waiting == 0
    assert responses(database_url)["kavita@example.org"][:2] == ("deputy", "सुरेश सैनी")
    nothing = settle_replies(invited)  # nothing waits: no form, no pause
    assert nothing.still_waiting == 0 and nothing.answered == []


@pytest.mark.parametrize("drop_on", [b"STORE", b"FETCH"])
def test_a_connection_dropped_in_the_middle_loses_nothing_and_counts_nothing_twice(
    invited: str,
    inbox: DovecotServer,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    drop_on: bytes,
) -> None:
    inbox.append(*the_inbox(message_ids(database_url)), folder=folder())
    with DroppingRelay(inbox.port, drop_on) as relay:
        monkeypatch.setenv("KARYASHALA_IMAP_PORT", str(relay.port))
        with pytest.raises(InboxError) as error:
            collect_confirmations(invited)
        assert relay.dropped == 1
    assert "Nothing is lost" in str(error.value) and inbox.password not in str(error.value)
    stored = len(responses(database_url))
    # dropped at STORE: the batch was committed, not marked; at FETCH: nothing was read
    assert stored == (4 if drop_on == b"STORE" else 0)
    assert not any("$KaryashalaRead" in f for f in inbox.flags(folder()))

    monkeypatch.setenv("KARYASHALA_IMAP_PORT", str(inbox.port))
    rerun = collect_confirmations(invited)
    assert rerun.new_reply_answers == (0 if drop_on == b"STORE" else 4)
    assert rerun.replies_read == (0 if drop_on == b"STORE" else 11)
    assert len(responses(database_url)) == 4
    assert rerun.bounced == 3 and rerun.replies_waiting == 2
    assert all("$KaryashalaRead" in f for f in inbox.flags(folder()))


def test_classify_prints_one_json_object_per_file(tmp_path: Path) -> None:
    files = []
    for name, raw in [
        ("yes.eml", reply("a@example.org", "haan, lekin nahi aa paunga")),
        (
            "bounce.eml",
            dsn("MAILER-DAEMON@mx.example.net", "Undelivered", "x@gone.example.org", "<1@x>"),
        ),
        ("ooo.eml", reply("b@example.org", "Away", subject="Out of Office: invite")),
    ]:
        path = tmp_path / name
        path.write_bytes(raw)
        files.append(str(path))
    result = run_cli("replies", "classify", *files, "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["kind"], line["answer"]) for line in lines] == [
        ("reply", "declined"),
        ("bounce", None),
        ("auto_reply", None),
    ]
    assert lines[1]["bounced"] == ["x@gone.example.org"] and lines[0]["file"] == files[0]
