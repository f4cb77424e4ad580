"""A press note from the event, the store's figures and what ops entered: Markdown first, then
the HTML, Word and WhatsApp forms of the same text. Pure: no store, no network."""

import io
import re
from datetime import datetime
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.text import WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.styles.style import ParagraphStyle
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt
from markdown_it.token import Token

from config import TEMPLATES_DIR
from config.errors import EventConfigError
from config.event import Event, Outcome
from tasks.common.hindi import MonthSpelling
from tasks.common.templating import environment
from tasks.press.facts import PressFacts

Kind = Literal["announcement", "summary"]
KINDS: tuple[Kind, ...] = ("announcement", "summary")
LANGUAGE_BREAK = "\n\n---\n\n"
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
LATIN = re.compile(r"[A-Za-z]")
# Named in the Word file for Devanagari (Windows and Office have it); readers without it fall
# back to another Devanagari font.
DEVANAGARI_FONT = "Nirmala UI"
LATIN_FONT = "Calibri"
WHATSAPP_LIMIT = 1000  # characters per language: a phone shows this much before 'Read more'


def render_sections(
    event: Event, kind: Kind, facts: PressFacts, outcome: Outcome, month_spelling: MonthSpelling
) -> str:
    """The Hindi note, a rule, the English note: the draft's Markdown."""
    env = environment(TEMPLATES_DIR)
    context = {"event": event, "facts": facts, "outcome": outcome, "month_spelling": month_spelling}
    try:
        sections = [
            env.get_template(f"press/{kind}.{lang}.md.j2").render(context).strip()
            for lang in ("hi", "en")
        ]
    except ValueError as error:
        raise EventConfigError(f"The {kind} of {event.id!r} cannot be written: {error}.") from None
    return LANGUAGE_BREAK.join(sections) + "\n"


def with_embargo(
    body: str, embargo: datetime | None, event: Event, month_spelling: MonthSpelling
) -> str:
    """The note as approved: the embargo line (in the event's time zone) above the text."""
    zone = ZoneInfo(event.timezone)
    if embargo is not None and embargo.tzinfo is None:
        embargo = embargo.replace(tzinfo=zone)  # a time without a zone is the event's
    local = embargo.astimezone(zone) if embargo else None
    env = environment(TEMPLATES_DIR)
    note = env.get_template("press/note.md.j2").render(
        body=body.strip(), embargo=local, month_spelling=month_spelling
    )
    return note.strip() + "\n"


def sections(markdown: str) -> list[tuple[str, str]]:
    """(language, text) of each part between rules; the language is the script it is in."""
    parts = [part.strip() for part in re.split(r"\n\s*---+\s*\n", markdown) if part.strip()]
    return [
        ("hi" if len(DEVANAGARI.findall(part)) >= len(LATIN.findall(part)) else "en", part)
        for part in parts
    ]


def markdown_parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False})


def headline(markdown: str) -> str:
    """The first headline line, without its hyphen: the subject of the mail to the media."""
    tokens = markdown_parser().parse(markdown)
    for previous, token in pairwise(tokens):
        if previous.type == "heading_open" and token.content.strip():
            return token.content.strip().lstrip("-").strip()
    return next((t.content.strip() for t in tokens if t.type == "inline"), "")


def to_html(markdown: str, title: str) -> str:
    """A page to print or paste: each language in its own section with its lang attribute."""
    parser = markdown_parser()
    parts = [(lang, parser.render(text)) for lang, text in sections(markdown)]
    return (
        environment(TEMPLATES_DIR)
        .get_template("press/note.html.j2")
        .render(title=title, sections=parts)
    )


def style_fonts(style: ParagraphStyle, size: float, bold: bool = False) -> None:
    """Latin and complex-script (Devanagari) fonts and sizes, both named in the style; the
    template's theme fonts go, or they would win over the names."""
    style.font.name = LATIN_FONT
    style.font.size = Pt(size)
    style.font.bold = bold
    run_properties = style.element.get_or_add_rPr()
    fonts = run_properties.get_or_add_rFonts()
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    fonts.set(qn("w:cs"), DEVANAGARI_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)
    for old in run_properties.findall(qn("w:szCs")):
        run_properties.remove(old)
    complex_size = run_properties.makeelement(qn("w:szCs"), {qn("w:val"): str(int(size * 2))})
    run_properties.find(qn("w:sz")).addnext(complex_size)  # schema order: sz, then szCs
    if bold:
        run_properties.get_or_add_bCs()


def add_inline(paragraph: Paragraph, token: Token) -> None:
    bold = italic = False
    for child in token.children or []:
        if child.type == "strong_open":
            bold = True
        elif child.type == "strong_close":
            bold = False
        elif child.type == "em_open":
            italic = True
        elif child.type == "em_close":
            italic = False
        elif child.type in ("softbreak", "hardbreak"):
            paragraph.add_run().add_break()
        elif child.content:
            run = paragraph.add_run(child.content)
            run.bold = bold or None
            run.italic = italic or None


def to_docx(markdown: str, title: str) -> bytes:
    """A Word file a desk can open and print: headlines styled, Devanagari font named, one page
    per language."""
    document = Document()
    document.core_properties.title = title
    document.core_properties.language = "hi-IN"
    style_fonts(document.styles["Normal"], 12)
    style_fonts(document.styles["Title"], 18, bold=True)
    parser = markdown_parser()
    for index, (_, text) in enumerate(sections(markdown)):
        if index:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        style = "Normal"
        for token in parser.parse(text):
            if token.type == "heading_open":
                style = "Title"
            elif token.type == "paragraph_open":
                style = "Normal"
            elif token.type == "inline":
                add_inline(document.add_paragraph(style=style), token)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def plain(text: str) -> str:
    """Markdown inline marks off: a WhatsApp message shows them as they are."""
    return re.sub(r"[*_]{1,2}(.+?)[*_]{1,2}", r"\1", text).strip()


def shortened(text: str, limit: int) -> str:
    """At most limit characters, cut after the last full sentence that fits."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind("।", 0, limit), text.rfind(". ", 0, limit))
    return text[: cut + 1] if cut > 0 else text[: limit - 1] + "…"


def whatsapp_text(markdown: str) -> str:
    """Per language the notice and headlines and the first paragraph, within WHATSAPP_LIMIT
    characters; the whole note is in the attachment."""
    parser = markdown_parser()
    blocks: list[str] = []
    for _, text in sections(markdown):
        tokens = parser.parse(text)
        lines: list[str] = []
        for previous, token in zip([None, *tokens], tokens, strict=False):
            if token.type != "inline":
                continue
            heading = previous is not None and previous.type == "heading_open"
            notice = token.content.startswith("**") and token.content.endswith("**")
            if heading or notice:
                lines.append(plain(token.content))
                continue
            room = WHATSAPP_LIMIT - sum(len(line) + 1 for line in lines)
            lines.append(shortened(plain(token.content), room))
            break
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks).strip() + "\n"


def plain_note(markdown: str) -> str:
    """The whole note as plain text, for the text part of the mail to a newsroom."""
    lines = []
    for line in markdown.splitlines():
        heading = re.match(r"^#+\s*(.*)$", line)
        lines.append(plain(heading.group(1)) if heading else plain(line))
    return "\n".join(lines).strip() + "\n"
