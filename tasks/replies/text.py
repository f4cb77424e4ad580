"""The new text of a reply: the body as text, without the quoted history, the signature or the
markup. Pure.

mail-parser-reply finds English quote headers (Gmail's "On … wrote:", Outlook's From/Sent
block, "Original Message"); the Hindi headers ("… को … ने लिखा:"), headers wrapped over two
lines, bottom posting, HTML-only mail and the Hindi sign-offs are ours (config/replies.yaml).
"""

from email.message import Message
from html.parser import HTMLParser

from mailparser_reply.parser import EmailMessage  # type: ignore[import-untyped]

from tasks.replies.words import fold_text, phrase, vocabulary

SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "blockquote"})
BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre"}
)
VOID_TAGS = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base"})
# Containers mail programs put the quoted mail in: Gmail, Yahoo, Thunderbird, Apple Mail.
QUOTE_CLASSES = ("gmail_quote", "gmail_attr", "yahoo_quoted", "moz-cite-prefix", "applemail-quote")
# Outlook puts the quoted mail after these, not inside them: everything after them goes.
QUOTE_STARTS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container")
OUTLOOK_HEADER_BORDERS = ("border-top:solid #e1e1e1", "border-top:solid #b5c4df")
MAX_TEXT = 4000


class _HTMLText(HTMLParser):
    """Text of the HTML a person wrote: quoted containers, scripts and styles left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        values = {name: (value or "").casefold() for name, value in attrs}
        style = values.get("style", "").replace(" ", "")
        if values.get("id", "") in QUOTE_STARTS or any(b in style for b in OUTLOOK_HEADER_BORDERS):
            self.done = True
            return
        if tag in BLOCK_TAGS:
            self.parts.append("\n")
        if tag in VOID_TAGS:
            return
        quoted = any(name in values.get("class", "") for name in QUOTE_CLASSES)
        if self.skipping or tag in SKIPPED_TAGS or quoted:
            self.skipping.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if self.skipping and tag in self.skipping:
            while self.skipping and self.skipping.pop() != tag:
                pass
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.done and not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def body_text(message: Message) -> str:
    """The plain-text part a person wrote, else their HTML part as text."""
    plain: str | None = None
    html: str | None = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        if part.get_content_type() == "text/plain" and plain is None:
            plain = part_text(part)
        elif part.get_content_type() == "text/html" and html is None:
            html = part_text(part)
    if plain is not None and plain.strip():
        return plain
    return html_text(html) if html else ""


def _is_quote_header(lines: list[str], index: int) -> int:
    """How many lines the quote header at index takes (0: none there)."""
    words = vocabulary()
    line = lines[index].strip()
    joined = f"{line} {lines[index + 1].strip()}" if index + 1 < len(lines) else line
    for pattern in words.quote_headers:
        if pattern.search(line):
            return 1
        if joined != line and pattern.search(joined) and not pattern.search(lines[index + 1]):
            return 2
    field = line.split(":", 1)[0].strip("*_ ").casefold()
    if ":" in line and field in words.quote_block_fields:
        for following in lines[index + 1 : index + 4]:
            head = following.split(":", 1)[0].strip("*_ ").casefold()
            if ":" in following and head in words.quote_block_fields and head != field:
                return 1
    return 0


def _unquoted(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.lstrip().startswith(">")]


def before_quote(text: str) -> str:
    """What stands before the first quote header; below it, when a person wrote under the quote
    (bottom posting), what they wrote there outside the `>` lines."""
    lines = text.split("\n")
    for index in range(len(lines)):
        taken = _is_quote_header(lines, index)
        if not taken:
            continue
        above = lines[:index]
        if any(line.strip() for line in _unquoted(above)):
            return "\n".join(above)
        below = _unquoted(lines[index + taken :])
        return before_quote("\n".join(below))
    return text


def without_signature(lines: list[str]) -> list[str]:
    words = vocabulary()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if index and stripped in words.signature_delimiters:
            return lines[:index]
        folded = fold_text(stripped)
        if index and any(folded.startswith(start) for start in words.sent_from if start):
            return lines[:index]
        rest = [other for other in lines[index + 1 :] if other.strip()]
        if (
            index
            and phrase(stripped) in words.closings
            and len(rest) <= words.closing_lines_after
            and all(len(other) <= 60 for other in rest)
        ):
            return lines[:index]
    return lines


def new_text(body: str) -> str:
    """The text a person added to the mail they answer, at most MAX_TEXT characters."""
    text = body.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = before_quote(text)
    replies = EmailMessage(text=text, languages=["en"], keep_hyphen_lists=True).read().replies
    if replies:
        text = replies[0].body
    lines = without_signature(_unquoted(text.split("\n")))
    kept: list[str] = []
    for line in (line.rstrip() for line in lines):
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()[:MAX_TEXT]
