"""The one jinja environment for every template, with the date, number and language filters.

What a template makes is in its name: `x.html.j2` is HTML and escapes everything it prints;
`x.txt.j2` and `x.md.j2` are text and print values as they are (Markdown templates escape what
people typed with the `md` filter). A partial shared by both kinds is written once, format-neutral
(`email/_macros.j2`), and takes the format of the template that imports or includes it: jinja
decides escaping in the file where a macro is defined, so the one file is compiled once as
`email/_macros.html.j2` and once as `email/_macros.txt.j2`.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath

import jinja2
from babel.dates import format_date, format_time
from babel.lists import format_list

from tasks.common import hindi
from tasks.common.escaping import markdown_text

TEMPLATE_SUFFIX = ".j2"


@lru_cache(maxsize=1024)
def long_date(moment: datetime, lang: str, spelling: hindi.MonthSpelling = "halant") -> str:
    """बुधवार, 1 दिसम्बर 2027 / Wednesday, 1 December 2027, for mails and pages; the Hindi
    month in the spelling the press notes use (KARYASHALA_MONTH_SPELLING). Cached, as is
    en_time: babel looks its locale data up on every call, and every page prints the same few
    dates."""
    if lang == "hi":
        month = hindi.month(moment, spelling)
        return f"{hindi.weekday(moment)}, {moment.day} {month} {moment.year}"
    return format_date(moment, "EEEE, d MMMM y", locale="en_IN")


@lru_cache(maxsize=1024)
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
    """a, b and c (CLDR's Indian English has no comma before 'and'); 'as well as' before the
    last when an item has its own 'and' (a and b as well as c and d), as the Hindi says तथा."""
    parts = [str(item) for item in items if str(item)]
    if len(parts) > 1 and any("and" in part.split() for part in parts):
        return f"{', '.join(parts[:-1])} as well as {parts[-1]}"
    return format_list(parts, locale="en_IN") if parts else ""


@cache
def output_format(name: str) -> str:
    """'.html' for `x.html.j2`, '.md' for `x.hi.md.j2`; '' for a format-neutral `_macros.j2`.
    Cached, as are the other questions about a name: jinja asks them on every import or include
    of every page it renders, and the names are the few of the templates."""
    suffixes = PurePosixPath(name).suffixes
    return suffixes[-2] if len(suffixes) > 1 and suffixes[-1] == TEMPLATE_SUFFIX else ""


@cache
def is_neutral(name: str) -> bool:
    return PurePosixPath(name).suffixes == [TEMPLATE_SUFFIX]


class PartialLoader(jinja2.FileSystemLoader):
    """Reads `x.html.j2` or `x.txt.j2` from the format-neutral `x.j2` when only that exists, and
    refuses the neutral name itself: compiled without a format, a macro would escape nothing."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        if is_neutral(template):
            stem = template.removesuffix(TEMPLATE_SUFFIX)
            raise jinja2.TemplateNotFound(
                template,
                f"{template} is a partial: import it from a template, or load it in the "
                f"format it is for ({stem}.html.j2, {stem}.txt.j2 or {stem}.md.j2)",
            )
        try:
            return super().get_source(environment, template)
        except jinja2.TemplateNotFound as missing:
            kind = output_format(template)
            neutral = template.removesuffix(kind + TEMPLATE_SUFFIX) + TEMPLATE_SUFFIX
            if not kind or not is_neutral(neutral):
                raise
            try:
                return super().get_source(environment, neutral)
            except jinja2.TemplateNotFound:
                raise missing from None


class FormatEnvironment(jinja2.Environment):
    """A neutral partial imported or included by a template takes that template's format."""

    def join_path(self, template: str, parent: str) -> str:
        if is_neutral(template) and output_format(parent):
            return template.removesuffix(TEMPLATE_SUFFIX) + output_format(parent) + TEMPLATE_SUFFIX
        return template


@cache
def environment(templates_dir: Path) -> jinja2.Environment:
    env = FormatEnvironment(
        loader=PartialLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        # Templates ship with the code: checking each one's file on every use is wasted work.
        auto_reload=False,
        # HTML escapes by file name; text and Markdown do not; a string template is plain text.
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
        gender_of=hindi.gender_of,
        verb=hindi.verb,
        md=markdown_text,
    )
    return env
