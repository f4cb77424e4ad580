"""What collect-confirmations and `karyashala status` report, in the one JSON form both print."""

from pydantic import BaseModel, Field

from tasks.answers.coverage import Coverage, reach_counts


class AnswerCounts(BaseModel):
    """Where the answers stand now (active people; a deputy counts as coming)."""

    confirmed: int
    declined: int
    deputy: int
    no_answer: int
    attended: int
    districts_without_confirmed_convener: list[str]
    bounced: int = Field(0, description="People whose address in the roster bounced.")
    replies_waiting: int = Field(0, description="Replies by mail that wait for a person.")
    reached: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="People each stage reached, by channel (email, whatsapp).",
    )

    @classmethod
    def of(cls, coverage: Coverage) -> "AnswerCounts":
        return cls(
            confirmed=coverage.confirmed,
            declined=coverage.declined,
            deputy=coverage.deputy,
            no_answer=coverage.no_answer,
            attended=coverage.attended,
            districts_without_confirmed_convener=coverage.districts_without_confirmed_convener,
            bounced=coverage.bounced,
            replies_waiting=coverage.replies_waiting,
            reached=reach_counts(coverage),
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
    replies_read: int = Field(0, description="Mails read from the reply inbox this run.")
    new_reply_answers: int = Field(0, description="Answers taken from replies by mail.")
    replies_unmatched: int = Field(0, description="Replies from nobody in the roster.")
    bounces_permanent: int = Field(0, description="Addresses that bounced for good.")
    bounces_temporary: int = Field(0, description="Addresses delayed for now (counted only).")
    auto_replies: int = Field(0, description="Out-of-office and other automatic replies.")
