"""What a mail in the reply inbox is: a bounce, an auto-reply, or a person's reply and what it
answers. Pure: bytes in, a Classification out; the word lists are config/replies.yaml."""

import email
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from typing import Literal

from flufl.bounce import all_failures
from pydantic import BaseModel, ConfigDict

from tasks.replies.text import body_text, new_text
from tasks.replies.words import Token, Vocabulary, find, fold_text, tokens, vocabulary

Kind = Literal["reply", "bounce", "auto_reply"]
ReplyAnswer = Literal["confirmed", "declined", "deputy", "question", "unclear"]
BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mail delivery")
NAME_BOUNDARIES = frozenset(',.;:!?।|()\n"')
MAX_NAME_WORDS = 6
SENTENCE = re.compile(r"[^.!?？।\n…]+[.!?？।…]*")
CLAUSE_BREAK = re.compile(r"[,;，؛]")
QUESTION_MARKS = ("?", "？")


class Classification(BaseModel):
    """kind, the answer of a reply (None for the others), the deputy's name where one is
    given, the addresses a bounce says failed for good (lower case) and for now, and the
    new text of a reply."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    answer: ReplyAnswer | None = None
    deputy_name: str | None = None
    bounced: list[str] = []
    delayed: list[str] = []
    new_text: str = ""


def header_text(message: Message, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, email.errors.HeaderParseError):
        return str(value)


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=compat32)


def _addresses(found: frozenset[bytes]) -> list[str]:
    return sorted({a.decode("utf-8", "replace").strip().strip("<>").lower() for a in found})


def is_report(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).casefold() == "delivery-status"
    )


def looks_like_bounce(message: Message) -> bool:
    sender = header_text(message, "From").casefold()
    return is_report(message) or any(name in sender for name in BOUNCE_SENDERS)


def is_auto_reply(message: Message) -> bool:
    """RFC 3834's Auto-Submitted, the older X-Autoreply family, Precedence, and out-of-office
    subjects in Hindi and English."""
    words = vocabulary()
    submitted = header_text(message, "Auto-Submitted").strip().casefold()
    if submitted and submitted != "no":
        return True
    if any(message.get(name) for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply")):
        return True
    if header_text(message, "Precedence").strip().casefold() in words.precedence:
        return True
    subject = fold_text(header_text(message, "Subject"))
    return any(subject.startswith(start) for start in words.auto_reply_subjects if start)


def classify_message(raw: bytes) -> Classification:
    message = parse(raw)
    if looks_like_bounce(message):
        temporary, permanent = all_failures(message)
        if permanent or temporary or is_report(message):
            return Classification(
                kind="bounce", bounced=_addresses(permanent), delayed=_addresses(temporary)
            )
    if is_auto_reply(message):
        return Classification(kind="auto_reply")
    text = new_text(body_text(message))
    answer, deputy_name = understand(text)
    return Classification(kind="reply", answer=answer, deputy_name=deputy_name, new_text=text)


def phrase_words(text: str) -> list[str]:
    return [token.folded for token in tokens(text)]


@dataclass(frozen=True)
class Clause:
    """A sentence, or a part of one between commas, and whether it asks."""

    text: str
    asks: bool


def _asks_by_a_word(text: str, vocab: Vocabulary, marked: bool) -> bool:
    words = phrase_words(text)
    return bool(find(words, vocab.question_words)) or (
        marked and bool(words) and vocab.question_starts.length_at(words, 0) > 0
    )


def clauses(text: str) -> list[Clause]:
    """The text's clauses. A sentence is read in parts (between commas and semicolons) when
    some of them ask by a word of their own ("Aa jaunga, parking milegi kya?"); a question mark
    and no such word make the whole sentence ask ("Do I need to come early, or is 10 fine?")."""
    vocab = vocabulary()
    found: list[Clause] = []
    for match in SENTENCE.finditer(text):
        sentence = match.group().strip()
        if not sentence:
            continue
        parts = [part.strip() for part in CLAUSE_BREAK.split(sentence) if part.strip()]
        marked = any(mark in sentence for mark in QUESTION_MARKS)
        asking = [_asks_by_a_word(part, vocab, marked) for part in parts]
        if marked and not any(asking):
            asking = [True] * len(parts)
        elif marked:
            asking[-1] = True
        found.extend(Clause(part, asks) for part, asks in zip(parts, asking, strict=True))
    return found


def _covered(spans: list[tuple[int, int]]) -> set[int]:
    return {index for start, end in spans for index in range(start, end)}


def _negated(words: list[str], span: tuple[int, int], idioms: set[int]) -> bool:
    vocab = vocabulary()
    window = vocab.negation_window
    start, end = span
    before = range(max(0, start - window), start)
    after = range(end, min(len(words), end + window))
    for index in (*before, *after):
        if index in idioms:
            continue
        word = words[index]
        if word in vocab.negations or (word in vocab.negations_before_only and index < start):
            return True
    return False


def _conditional(words: list[str], vocab: Vocabulary) -> bool:
    """A Hindi condition: "निकल पाया तो", "time mila to"."""
    return any(
        word in vocab.conditional_then and words[index - 1] in vocab.conditional_verbs
        for index, word in enumerate(words)
        if index
    )


@dataclass
class Signs:
    """What the clauses of a reply say, by word position: a yes, a no, and the weak ones (an
    acknowledgement at a clause's start, an apology) that count only when alone."""

    yes: list[int] = field(default_factory=list)
    no: list[int] = field(default_factory=list)
    acknowledged: bool = False
    apologised: bool = False


def _read_clause(clause: Clause, offset: int, others: set[int], signs: Signs) -> None:
    """Adds what one clause says to signs; offset is the position of its first word in the
    reply, others the positions of another person's coming."""
    vocab = vocabulary()
    words = phrase_words(clause.text)
    idioms = _covered(find(words, vocab.positive_idioms))
    skipped = idioms | {index - offset for index in others}
    coming = [span for span in find(words, vocab.coming) if not _covered([span]) & skipped]
    denied = [span for span in coming if _negated(words, span, idioms)]
    said_no = [span for span in find(words, vocab.no) if not _covered([span]) & idioms]
    said_yes = [*find(words, vocab.yes), *(span for span in coming if span not in denied)]
    if idioms:
        said_yes.append((min(idioms), min(idioms) + 1))
    if any(sign in clause.text for sign in vocab.no_signs):
        said_no.append((0, 1))
    if any(sign in clause.text for sign in vocab.yes_signs):
        said_yes.append((0, 1))
    acknowledges = bool(words) and vocab.acknowledgements.length_at(words, 0) > 0
    if find(words, vocab.away_days) and not (said_yes or find(words, vocab.day_is_free)):
        said_no.append((0, 1))
    signs.no.extend(offset + start for start, _ in [*said_no, *denied])
    signs.yes.extend(offset + start for start, _ in said_yes)
    signs.acknowledged = signs.acknowledged or acknowledges
    signs.apologised = signs.apologised or bool(find(words, vocab.apologies))


def _ordered(signs: Signs, contrasts: list[int]) -> ReplyAnswer:
    """A yes and a no in one reply: the one after a contrast wins ("haan, lekin nahi aa
    paunga"); else neither."""
    for contrast in contrasts:
        if max(signs.yes) < contrast < min(signs.no):
            return "declined"
        if max(signs.no) < contrast < min(signs.yes):
            return "confirmed"
    return "unclear"


def _answer(signs: Signs, contrasts: list[int], asks: bool) -> ReplyAnswer | None:
    """The answer of the signs; None when they say nothing, or only a weak word beside a
    question ("Sorry, who is this?")."""
    if signs.yes and signs.no:
        return _ordered(signs, contrasts)
    if signs.no:
        return "declined"
    if signs.yes:
        return "confirmed"
    if asks:
        return None
    if signs.acknowledged and signs.apologised:
        return "unclear"
    if signs.acknowledged:
        return "confirmed"
    if signs.apologised:
        return "declined"
    return None


@dataclass(frozen=True)
class Statement:
    """The clauses of a reply that do not ask, as one text with its words, and where each
    clause's words start."""

    text: str
    found: list[Token]
    clauses: list[Clause]
    offsets: list[int]

    @property
    def words(self) -> list[str]:
        return [token.folded for token in self.found]


def statement_of(parts: list[Clause]) -> Statement:
    kept = [clause for clause in parts if not clause.asks]
    offsets, count = [], 0
    for clause in kept:
        offsets.append(count)
        count += len(tokens(clause.text))
    text = "\n".join(clause.text for clause in kept)
    return Statement(text, tokens(text), kept, offsets)


def understand(text: str) -> tuple[ReplyAnswer, str | None]:
    """The answer a reply gives, and the deputy's name. A hedge or a condition leaves it
    unclear; sending someone is a deputy; a clause that asks or speaks of another time answers
    nothing; a yes and a no need a contrast to order them; a reply that only asks is a
    question."""
    vocab = vocabulary()
    parts = clauses(text)
    all_words = phrase_words(text)
    if find(all_words, vocab.hedges) or _conditional(all_words, vocab):
        return "unclear", None
    statement = statement_of(parts)
    words = statement.words
    if find(words, vocab.deputy):
        return "deputy", deputy_name(statement.text, statement.found)
    others, other_name = others_coming(statement)
    signs = Signs()
    contrasts = [start for start, _ in find(words, vocab.contrasts)]
    read: list[str] = []
    for clause, offset in zip(statement.clauses, statement.offsets, strict=True):
        clause_words = phrase_words(clause.text)
        if not find(clause_words, vocab.other_times):
            _read_clause(clause, offset, others, signs)
            read.extend(clause_words)
    # A short reply with a "not" in it ("नहीं जी", "no sorry") is a no.
    if len(read) <= vocab.short_reply_words and vocab.negations & set(read) and not signs.yes:
        signs.no.append(0)
    if other_name is not None and not signs.yes:
        return "deputy", other_name
    asks = any(clause.asks for clause in parts)
    answer = _answer(signs, contrasts, asks)
    if answer is not None:
        return answer, None
    return ("question" if asks else "unclear"), None


def _boundary_between(text: str, left: Token, right: Token) -> bool:
    return any(char in NAME_BOUNDARIES for char in text[left.end : right.start])


def _trimmed(found: list[Token]) -> list[Token]:
    """Without titles, honorifics, role words and words that are no name at either end."""
    titles = vocabulary().deputy_titles
    changed = True
    while found and changed:
        changed = False
        for length in range(min(titles.longest, len(found)), 0, -1):
            if tuple(t.folded for t in found[:length]) in titles:
                found, changed = found[length:], True
                break
            if tuple(t.folded for t in found[-length:]) in titles:
                found, changed = found[:-length], True
                break
    return found


def _name(text: str, found: list[Token]) -> str | None:
    found = _trimmed(found)
    if not found or len(found) > MAX_NAME_WORDS:
        return None
    return " ".join(text[found[0].start : found[-1].end].split())


def _name_after(text: str, found: list[Token], end: int, stops: set[int]) -> str | None:
    after: list[Token] = []
    for index in range(end, len(found)):
        if index in stops:
            break
        # A title's full stop ("Sh. Pawan Saini") ends no name.
        if _trimmed(after) and _boundary_between(text, found[index - 1], found[index]):
            break
        after.append(found[index])
    return _name(text, after)


def _name_before(text: str, found: list[Token], start: int, stops: set[int]) -> str | None:
    before: list[Token] = []
    named: list[Token] = []  # what of it could be a name: no verb, no title
    for index in range(start - 1, -1, -1):
        if _boundary_between(text, found[index], found[index + 1]) and _trimmed(named):
            break
        before.insert(0, found[index])
        if index not in stops:
            named.insert(0, found[index])
    first = start - len(before)
    cut = next((i for i in range(len(before)) if first + i in stops), None)
    return _name(text, before[:cut] if cut is not None else before)


def _name_stops(words: list[str]) -> set[int]:
    """Where a name ends: a verb of coming or sending, another deputy phrase."""
    vocab = vocabulary()
    phrases = vocab.deputy_until | vocab.others_coming | vocab.deputy
    return {start for start, _ in find(words, phrases)}


def deputy_name(text: str, found: list[Token]) -> str | None:
    """Who comes instead: the words after a deputy phrase up to a verb of coming ("मेरी जगह सह
    संयोजक रमेश जी आएंगे"), else those before it ("रमेश जी को भेज रहा हूँ"), without titles
    and role words; None when no phrase names anyone."""
    vocab = vocabulary()
    words = [token.folded for token in found]
    stops = _name_stops(words)
    for start, end in find(words, vocab.deputy | vocab.deputy_anchors):
        before_only = tuple(words[start:end]) in vocab.deputy_before_only
        name = None if before_only else _name_after(text, found, end, stops)
        if name is None:
            name = _name_before(text, found, start, stops)
        if name is not None:
            return name
    return None


def _a_name(name: str | None) -> bool:
    """A person's name: not the writer's "I" or a "yes", not a word written in lower case."""
    if name is None:
        return False
    vocab = vocabulary()
    words = phrase_words(name)
    if any(word in vocab.speakers for word in words) or vocab.acknowledgements.length_at(words, 0):
        return False
    return not (name[0].isascii() and name[0].islower())


def others_coming(statement: Statement) -> tuple[set[int], str | None]:
    """Another person named as coming ("Vinod bhai aa jayenge"): the positions of those words
    of coming, and the first name."""
    words = statement.words
    stops = _name_stops(words)
    positions: set[int] = set()
    first: str | None = None
    speakers = vocabulary().speakers
    for start, end in find(words, vocabulary().others_coming):
        if start and words[start - 1] in speakers:
            continue
        name = _name_before(statement.text, statement.found, start, stops - {start})
        if _a_name(name):
            positions.update(range(start, end))
            first = first or name
    return positions, first
