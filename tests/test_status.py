"""karyashala status: the counts ops watch, from every answer in the store."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import load_settings
from store.db import engine_for
from store.models import Attendance, Person, Response, utc_now
from tests.conftest import person_row
from tests.test_send_stage import make_event

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")


def test_status_json_counts_latest_answers_and_uncovered_districts(tmp_path: Path) -> None:
    rows = [
        person_row(name="अ", email="a@example.org", phone="9812300001", district="Gurgaon"),
        person_row(name="ब", email="b@example.org", phone="9812300002", district="Rohtak"),
        person_row(
            name="स",
            email="c@example.org",
            phone="9812300003",
            district="Hisar",
            role="जिला सह संयोजक",
        ),
        person_row(
            name="द", email="d@example.org", phone="9812300004", district="Hisar", role="प्रवक्ता"
        ),
    ]
    event = make_event(tmp_path, rows)
    url = load_settings().store_url
    with Session(engine_for(url)) as session, session.begin():
        ids = {p.name: p.id for p in session.scalars(select(Person))}
        for name, answer in [("अ", "no"), ("अ", "yes"), ("ब", "no"), ("स", "deputy")]:
            session.add(
                Response(
                    event_id="test-workshop",
                    person_id=ids[name],
                    channel="link",
                    answer=answer,
                    received_at=utc_now(),
                )
            )
        session.add(Attendance(event_id="test-workshop", person_id=ids["अ"], recorded_by="test"))
    result = subprocess.run(
        [sys.executable, "-m", "karyashala.cli", "status", "--event", event, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert {k: counts[k] for k in ("confirmed", "declined", "deputy", "no_answer", "attended")} == {
        "confirmed": 1,
        "declined": 1,
        "deputy": 1,
        "no_answer": 1,
        "attended": 1,
    }
    missing = counts["districts_without_confirmed_convener"]
    assert "Gurugram" not in missing and "Hisar" not in missing
    assert "Rohtak" in missing and len(missing) == 20
    human = subprocess.run(
        [sys.executable, "-m", "karyashala.cli", "status", "--event", event],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert "To call: no answer yet (1)" in human.stdout
    assert "+919812300004" in human.stdout
