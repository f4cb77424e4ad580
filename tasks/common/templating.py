"""The one jinja environment for every template, with the date, number and language filters."""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path

import jinja2
from babel.dates import format_date, format_time
from babel.lists import format_list

from tasks.common import hindi


def long_date(moment: datetime, lang: str) -> str:
    """बुधवार, 1 दिसंबर 2027 / Wednesday, 1 December 2027 (CLDR, for mails and pages)."""
    return format_date(moment, "EEEE, d MMMM y", locale="hi" if lang == "hi" else "en_IN")


def en_time(moment: datetime) -> str:
    return format_time(moment, "h:mm a", locale="en_IN")


def en_duration(hours: float) -> str:
    quarters = max(round(hours * 4), 1)
    if quarters < 4:
        return ["", "a quarter of an hour", "half an hour", "three quarters of an hour"][quarters]
    whole, rest = divmod(quarters, 4)
    return f"{whole}{['', '¼', '½', '¾'][rest]} {'hour' if quarters == 4 else 'hours'}"


def en_counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def en_join(items: Sequence[str]) -> str:
    """a, b and c (CLDR's Indian English has no comma before 'and')."""
    parts = [str(item) for item in items if str(item)]
    return format_list(parts, locale="en_IN") if parts else ""


@cache
def environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        # Markup is escaped by file name; a template made from a string is plain text.
        autoescape=jinja2.select_autoescape(["html", "html.j2"], default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(
        long_date=long_date,
        en_time=en_time,
        en_duration=en_duration,
        en_counted=en_counted,
        en_join=en_join,
        weekday=hindi.weekday,
        day_month=hindi.day_month,
        time_of_day=hindi.time_of_day,
        duration=hindi.duration,
        noun=hindi.noun,
        counted=hindi.counted,
        join_hi=hindi.join,
        verb=hindi.verb,
    )
    return env
