"""The roster concern's Prefect tasks and artifacts: each a thin wrapper of a plain function."""

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.common.escaping import markdown_text
from tasks.roster.event_check import check_event_roster
from tasks.roster.report import (
    ARTIFACT_PROBLEM_ROWS,
    SyncReport,
    render_summary,
    write_problem_list,
)
from tasks.roster.source import read_table
from tasks.roster.store import save_roster

read_roster = task(name="read-roster", cache_policy=NO_CACHE, retries=0)(read_table)
check_roster = task(name="check-roster", cache_policy=NO_CACHE)(check_event_roster)
store_roster = task(name="store-roster", cache_policy=NO_CACHE)(save_roster)
write_problems = task(name="write-problems", cache_policy=NO_CACHE)(write_problem_list)


@task(name="publish-sync-report", cache_policy=NO_CACHE)
def publish_sync_report(report: SyncReport) -> None:
    """Keyed artifacts per event, so the Prefect UI keeps every sync's version."""
    create_markdown_artifact(
        key=f"roster-summary-{report.event_id}",
        markdown=render_summary(report),
        description="Roster sync: counts by district and role, changes, problems",
    )
    create_table_artifact(
        key=f"roster-problems-{report.event_id}",
        # The messages name the sheet's own headers; the UI renders each cell as Markdown.
        table=[
            {
                "पंक्ति / Row": problem.row,
                "समस्या": markdown_text(problem.message_hi),
                "Problem": markdown_text(problem.message_en),
                "कॉलम / Field": problem.field,
                "Code": problem.code,
            }
            for problem in report.problems[:ARTIFACT_PROBLEM_ROWS]
        ],
        description=f"Problems found in the roster ({len(report.problems)} in all)",
    )
