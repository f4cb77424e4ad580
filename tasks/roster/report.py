"""What a sync tells ops: a summary, the problem list, and where the problems were written."""

from collections import Counter

from pydantic import BaseModel

from config import TEMPLATES_DIR
from config.event import Event
from config.settings import load_settings
from tasks.common.districts import load_districts
from tasks.common.escaping import write_csv
from tasks.common.sheets import PROBLEMS_WORKSHEET, write_worksheet
from tasks.common.templating import environment
from tasks.roster.check import CheckedRoster, Problem, problem_sheet_rows
from tasks.roster.store import StoredSync

ARTIFACT_PROBLEM_ROWS = 500


class ProblemOut(BaseModel):
    row: int
    field: str
    code: str
    message_hi: str
    message_en: str


class SyncReport(BaseModel):
    """The result of one sync, as the CLI prints it with --json and the artifacts show it."""

    event_id: str
    source: str
    sync_id: int
    rows_read: int
    active_people: int
    districts_covered: int
    districts_total: int
    districts_without_people: list[str]
    by_district: dict[str, int]
    by_role: dict[str, int]
    added: int
    changed: int
    unchanged: int
    removed: int
    problem_counts: dict[str, int]
    problems: list[ProblemOut]
    problems_written_to: str = ""


def build_report(event: Event, checked: CheckedRoster, stored: StoredSync) -> SyncReport:
    catalog = load_districts(event.districts)
    by_district = {d.en: stored.active_by_district.get(d.en, 0) for d in catalog.districts}
    without = [name for name, count in by_district.items() if count == 0]
    if stored.active_by_district.get(""):
        by_district["(state / morcha)"] = stored.active_by_district[""]
    return SyncReport(
        event_id=event.id,
        source=event.roster.source,
        sync_id=stored.sync_id,
        rows_read=checked.rows_read,
        active_people=stored.active_people,
        districts_covered=len(catalog.districts) - len(without),
        districts_total=len(catalog.districts),
        districts_without_people=without,
        by_district=by_district,
        by_role=dict(sorted(stored.active_by_role.items(), key=lambda item: -item[1])),
        added=stored.added,
        changed=stored.changed,
        unchanged=stored.unchanged,
        removed=stored.removed,
        problem_counts=dict(Counter(problem.code for problem in checked.problems)),
        problems=[
            ProblemOut(
                row=p.row,
                field=p.field,
                code=p.code,
                message_hi=p.message_hi,
                message_en=p.message_en,
            )
            for p in checked.problems
        ],
    )


def render_summary(report: SyncReport) -> str:
    return (
        environment(TEMPLATES_DIR)
        .get_template("roster/summary.md.j2")
        .render(report=report, shown=ARTIFACT_PROBLEM_ROWS)
    )


def write_problem_list(event: Event, problems: list[Problem]) -> str:
    """Tell ops what is wrong where they work: a worksheet of their spreadsheet, or a CSV file."""
    settings = load_settings()
    roster = event.roster
    if roster.source == "sheets":
        assert roster.spreadsheet_key is not None
        write_worksheet(
            roster.spreadsheet_key, PROBLEMS_WORKSHEET, problem_sheet_rows(problems), settings
        )
        return f"worksheet {PROBLEMS_WORKSHEET!r} of the roster spreadsheet"
    path = settings.event_output_dir(event.id) / "roster-problems.csv"
    write_csv(path, problem_sheet_rows(problems))
    return str(path)
