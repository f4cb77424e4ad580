"""What collect-confirmations and `karyashala status` report, in the one JSON form both print."""

from pydantic import BaseModel, Field

from tasks.answers.coverage import Coverage


class AnswerCounts(BaseModel):
    """Where the answers stand now (active people; a deputy counts as coming)."""

    confirmed: int
    declined: int
    deputy: int
    no_answer: int
    attended: int
    districts_without_confirmed_convener: list[str]

    @classmethod
    def of(cls, coverage: Coverage) -> "AnswerCounts":
        return cls(
            confirmed=coverage.confirmed,
            declined=coverage.declined,
            deputy=coverage.deputy,
            no_answer=coverage.no_answer,
            attended=coverage.attended,
            districts_without_confirmed_convener=coverage.districts_without_confirmed_convener,
        )


class CollectReport(AnswerCounts):
    """The outcome of one collect-confirmations run, as `karyashala collect --json` prints it."""

    event_id: str
    new_sheet_answers: int = Field(description="Answers typed into the sheet since last read.")
    new_attendance: int = Field(description="People marked present in the sheet's column.")
    unclear_rows: list[int] = Field(description="Sheet rows whose answer cell was not understood.")
    new_form_answers: int = Field(description="Answers from the Google Form's worksheet.")
    form_rows_rejected: list[int] = Field(description="Form rows without a valid answer link.")
    status_written_to: str = Field(description="Where each person's status was written.")
