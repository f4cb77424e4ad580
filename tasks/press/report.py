"""What a press-note run reports, in the one JSON form `karyashala press-note --json` prints."""

from typing import Literal

from pydantic import BaseModel, Field

from tasks.press.files import NoteFiles
from tasks.press.render import Kind

NoteState = Literal["awaiting review", "approved", "kept as draft", "rejected", "not approved"]


class PressReport(BaseModel):
    """What one run wrote and did, as `karyashala press-note --json` prints it."""

    event_id: str
    kind: Kind
    version: str
    state: NoteState
    markdown: str
    html: str
    docx: str
    text: str
    final: NoteFiles | None = None
    note: str | None = Field(default=None, description="The reviewer's note with their decision.")
    sent: int = 0
    failed: int = 0
    stopped: str | None = Field(default=None, description="Why sending stopped short.")
