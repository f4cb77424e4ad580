"""A printable attendance list, district by district, for a door without phones."""

from pathlib import Path

from sqlalchemy import select

from config import TEMPLATES_DIR
from config.event import Event
from config.settings import Settings
from store.db import transaction
from store.models import Person
from tasks.common.districts import load_districts
from tasks.common.templating import environment
from tasks.common.tokens import check_in_code

STATE_LEVEL = "प्रदेश / मोर्चा"


def write_attendance_list(event: Event, settings: Settings) -> Path:
    catalog = load_districts(event.districts)
    order = {district.en: index for index, district in enumerate(catalog.districts)}
    with transaction(settings.store_url) as session:
        rows = session.execute(
            select(Person.id, Person.name, Person.role, Person.district, Person.phone).where(
                Person.event_id == event.id, Person.active.is_(True)
            )
        ).all()
    key = settings.signing_secret()
    groups: dict[str, list[dict[str, object]]] = {}
    for person_id, name, role, district, phone in sorted(
        rows, key=lambda r: (order.get(r.district or "", len(order)), r.name)
    ):
        known = catalog.canonical(district) if district else None
        title = f"{known.hi} / {known.en}" if known else STATE_LEVEL
        groups.setdefault(title, []).append(
            {
                "name": name,
                "role": role,
                "phone": phone,
                "code": check_in_code(key, event.id, person_id),
            }
        )
    # As text: the list's HTML template escapes them where it prints them.
    macros = environment(TEMPLATES_DIR).get_template("email/_macros.txt.j2").module
    html = (
        environment(TEMPLATES_DIR)
        .get_template("web/attendance_list.html.j2")
        .render(
            event=event,
            groups=list(groups.items()),
            total=len(rows),
            when=macros.when(event.starts_at, "hi"),  # type: ignore[attr-defined]
            place=macros.place(event, lambda text: text.hi),  # type: ignore[attr-defined]
        )
    )
    path = settings.event_output_dir(event.id) / "attendance-list.html"
    path.write_text(html, encoding="utf-8")
    return path
