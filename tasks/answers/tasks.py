"""The answers concern's Prefect tasks and artifacts: each a thin wrapper of a plain function."""

from collections import Counter

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from config.event import Event
from tasks.answers.chart import answers_chart, data_uri
from tasks.answers.collect import read_form_answers, read_sheet_answers, write_status_columns
from tasks.answers.coverage import Coverage, call_reason
from tasks.common.escaping import markdown_cells, markdown_text
from tasks.common.privacy import mask_contacts

record_sheet_answers = task(name="record-sheet-answers", cache_policy=NO_CACHE)(read_sheet_answers)
record_form_answers = task(name="record-form-answers", cache_policy=NO_CACHE)(read_form_answers)
write_status = task(name="write-status", cache_policy=NO_CACHE)(write_status_columns)


@task(name="publish-coverage", cache_policy=NO_CACHE)
def publish_coverage(event: Event, result: Coverage) -> None:
    rows = [
        {
            "district": district,
            "role": role,
            **{k: tally[k] for k in ("confirmed", "deputy", "declined", "no_answer")},
        }
        for (district, role), tally in sorted(result.by_district_role.items())
    ]
    create_table_artifact(
        key=f"coverage-{event.id}",
        table=markdown_cells(rows),
        description="Answers by district and role",
    )
    create_table_artifact(
        key=f"to-call-{event.id}",
        table=markdown_cells(
            {
                "name": p.name,
                "district": p.district or "",
                "role": p.role or "",
                "phone": mask_contacts(p.phone or ""),
                "why / क्यों": call_reason(p),
            }
            for p in result.to_call
        ),
        description="No answer yet, or mail bounced: to call (phones masked here; "
        "`karyashala status` shows them)",
    )
    missing = (
        ", ".join(map(markdown_text, result.districts_without_confirmed_convener))
        or "none / कोई नहीं"
    )
    by_district: dict[str, Counter[str]] = {}
    for (district, _), tally in result.by_district_role.items():
        by_district.setdefault(district, Counter()).update(tally)
    create_markdown_artifact(
        key=f"coverage-summary-{event.id}",
        description="Answers so far: counts, districts with no confirmed convener, chart",
        markdown=(
            f"# {event.id}: answers\n\n| | |\n|---|---:|\n"
            f"| आ रहे हैं / confirmed | {result.confirmed} |\n"
            f"| प्रतिनिधि / deputy | {result.deputy} |\n"
            f"| नहीं आ रहे / declined | {result.declined} |\n"
            f"| उत्तर नहीं / no answer | {result.no_answer} |\n"
            f"| उपस्थित / attended | {result.attended} |\n"
            f"| ईमेल लौटा / mail bounced | {result.bounced} |\n"
            f"| जाँच के लिए रुके ईमेल उत्तर / replies waiting | {result.replies_waiting} |\n\n"
            f"**Districts with no confirmed convener:** {missing}\n\n"
            f"![Answers by district (green: confirmed)]({data_uri(answers_chart(by_district))})\n"
        ),
    )
