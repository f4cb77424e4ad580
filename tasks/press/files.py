"""A press note's files: each draft in a version folder of its own, the approved text beside it.

A draft is never overwritten: a new run makes a new version; approval adds `final.*` files.
"""

from pathlib import Path

from pydantic import BaseModel

from config.errors import KaryashalaError
from tasks.press.render import Kind, headline, to_docx, to_html, whatsapp_text

DRAFT = "draft"
FINAL = "final"
NOT_APPROVED = "not-approved"


class NoteFiles(BaseModel):
    """The paths of one written note, as `karyashala press-note --json` prints them."""

    markdown: str
    html: str
    docx: str
    text: str


def press_folder(output_dir: Path, kind: Kind) -> Path:
    return output_dir / "press" / kind


def versions(output_dir: Path, kind: Kind) -> list[Path]:
    folder = press_folder(output_dir, kind)
    found = [p for p in folder.glob("v*") if p.is_dir() and p.name[1:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[1:]))


def new_version(output_dir: Path, kind: Kind) -> Path:
    """The next version folder; two runs at once each get their own."""
    existing = versions(output_dir, kind)
    number = int(existing[-1].name[1:]) + 1 if existing else 1
    press_folder(output_dir, kind).mkdir(parents=True, exist_ok=True)
    while True:
        folder = press_folder(output_dir, kind) / f"v{number}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            number += 1


def mark_not_approved(folder: Path) -> None:
    """A reviewer rejected this version (or nobody decided in time): the command line will not
    approve it."""
    (folder / NOT_APPROVED).touch()


def awaiting_review(output_dir: Path, kind: Kind) -> Path:
    """The latest draft, if it is neither approved nor turned down in a review."""
    existing = versions(output_dir, kind)
    latest = existing[-1] if existing else None
    if latest is None or any((latest / name).exists() for name in (f"{FINAL}.md", NOT_APPROVED)):
        raise KaryashalaError(
            f"No {kind} draft is waiting for review in {press_folder(output_dir, kind)}: "
            f"write one first with `karyashala press-note --event … --kind {kind}`."
        )
    return existing[-1]


SUFFIXES = {"markdown": "md", "html": "html", "docx": "docx", "text": "txt"}


def note_files(folder: Path, name: str) -> NoteFiles:
    """Where the forms of one note (draft or final) are in its version folder."""
    return NoteFiles.model_validate(
        {key: str(folder / f"{name}.{suffix}") for key, suffix in SUFFIXES.items()}
    )


def write_note(folder: Path, name: str, markdown: str) -> NoteFiles:
    """Markdown, HTML, Word and the WhatsApp text of one note; refuses to replace a file."""
    title = headline(markdown)
    contents = {
        "markdown": markdown.encode("utf-8"),
        "html": to_html(markdown, title).encode("utf-8"),
        "docx": to_docx(markdown, title),
        "text": whatsapp_text(markdown).encode("utf-8"),
    }
    files = note_files(folder, name)
    for key, content in contents.items():
        with Path(getattr(files, key)).open("xb") as handle:
            handle.write(content)
    return files


def write_draft_version(output_dir: Path, kind: Kind, markdown: str) -> tuple[Path, NoteFiles]:
    folder = new_version(output_dir, kind)
    return folder, write_note(folder, DRAFT, markdown)


def write_final_note(folder: Path, markdown: str) -> NoteFiles:
    return write_note(folder, FINAL, markdown)
