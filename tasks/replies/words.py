"""The word lists of config/replies.yaml, and the one way text and phrases are folded before
they are compared. Pure."""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from config import CONFIG_DIR
from config.errors import KaryashalaError

WORDS_FILE = CONFIG_DIR / "replies.yaml"
# Devanagari spellings that differ in print but not in meaning: chandrabindu and anusvara,
# nukta, long and short i and u.
DEVANAGARI_FOLDS = str.maketrans(
    {"ँ": "ं", "़": None, "ी": "ि", "ू": "ु", "ई": "इ", "ऊ": "उ", "\u200c": None, "\u200d": None}
)
APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})
# A word: letters, digits and Devanagari signs (not the danda), with an apostrophe inside.
WORD = re.compile(r"[\w\u0900-\u0963\u0966-\u097f]+(?:'[\w]+)*")
LONG_RUN = re.compile(r"([a-z])\1{2,}")


class RepliesConfigError(KaryashalaError):
    """config/replies.yaml cannot be read or lacks a list."""


@dataclass(frozen=True)
class Token:
    """A word of the text folded for comparison, and where it stands in the original."""

    folded: str
    start: int
    end: int


def fold_word(word: str) -> str:
    """Lower case, Devanagari variants as one, a Latin letter typed three times or more as two."""
    folded = unicodedata.normalize("NFC", word).casefold().translate(APOSTROPHES)
    folded = unicodedata.normalize("NFD", folded).translate(DEVANAGARI_FOLDS)
    return LONG_RUN.sub(r"\1\1", unicodedata.normalize("NFC", folded))


def tokens(text: str) -> list[Token]:
    normal = unicodedata.normalize("NFC", text).translate(APOSTROPHES)
    return [Token(fold_word(m.group()), m.start(), m.end()) for m in WORD.finditer(normal)]


def phrase(text: str) -> tuple[str, ...]:
    """The folded words of text; a word written with a `*` right after it ("उपस्थित*") keeps
    it, and then stands for every word it starts (उपस्थित, उपस्थिति): one entry for all the
    endings of a word."""
    normal = unicodedata.normalize("NFC", text).translate(APOSTROPHES)
    return tuple(
        token.folded + ("*" if normal[token.end : token.end + 1] == "*" else "")
        for token in tokens(normal)
    )


def _word_matches(word: str, pattern: str) -> bool:
    return word == pattern or (pattern.endswith("*") and word.startswith(pattern[:-1]))


class Phrases:
    """A set of phrases, each a tuple of folded words or word starts (ending in `*`)."""

    def __init__(self, items: frozenset[tuple[str, ...]]) -> None:
        self.items = items
        self.longest = max((len(item) for item in items), default=0)
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for item in items:
            if not item[0].endswith("*"):
                self._by_first.setdefault(item[0], []).append(item)
        self._starting_with_a_start = [item for item in items if item[0].endswith("*")]

    def __contains__(self, words: object) -> bool:
        return words in self.items

    def __or__(self, other: "Phrases") -> "Phrases":
        return Phrases(self.items | other.items)

    def length_at(self, words: list[str], start: int) -> int:
        """How many words the longest phrase standing at start takes (0: none)."""
        word = words[start]
        candidates = self._by_first.get(word, []) + [
            item for item in self._starting_with_a_start if word.startswith(item[0][:-1])
        ]
        best = 0
        for candidate in candidates:
            size = len(candidate)
            if size > best and start + size <= len(words):
                pairs = zip(words[start : start + size], candidate, strict=True)
                if all(_word_matches(have, pattern) for have, pattern in pairs):
                    best = size
        return best


def find(words: list[str], phrases: Phrases) -> list[tuple[int, int]]:
    """Every (start, end) word span where one of the phrases stands, longest first per start."""
    found = []
    for start in range(len(words)):
        length = phrases.length_at(words, start)
        if length:
            found.append((start, start + length))
    return found


@dataclass(frozen=True)
class Vocabulary:
    """config/replies.yaml, folded once."""

    auto_reply_subjects: tuple[str, ...]
    precedence: frozenset[str]
    quote_headers: tuple[re.Pattern[str], ...]
    quote_block_fields: tuple[str, ...]
    signature_delimiters: frozenset[str]
    sent_from: tuple[str, ...]
    closings: Phrases
    closing_lines_after: int
    positive_idioms: Phrases
    hedges: Phrases
    conditional_verbs: frozenset[str]
    conditional_then: frozenset[str]
    other_times: Phrases
    contrasts: Phrases
    deputy: Phrases
    no: Phrases
    apologies: Phrases
    away_days: Phrases
    day_is_free: Phrases
    negations: frozenset[str]
    negations_before_only: frozenset[str]
    negation_window: int
    short_reply_words: int
    coming: Phrases
    yes: Phrases
    acknowledgements: Phrases
    yes_signs: tuple[str, ...]
    no_signs: tuple[str, ...]
    question_words: Phrases
    question_starts: Phrases
    deputy_anchors: Phrases
    deputy_before_only: Phrases
    deputy_until: Phrases
    others_coming: Phrases
    deputy_titles: Phrases
    speakers: frozenset[str]


def _phrases(values: list[Any]) -> Phrases:
    return Phrases(frozenset(p for p in (phrase(str(v)) for v in values) if p))


def _words(values: list[Any]) -> frozenset[str]:
    return frozenset(fold_word(str(value)) for value in values)


@cache
def vocabulary() -> Vocabulary:
    try:
        data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
        auto, signature, answers = data["auto_reply"], data["signature"], data["answers"]
        names = data["deputy_name"]
        return Vocabulary(
            auto_reply_subjects=tuple(fold_text(str(s)) for s in auto["subjects"]),
            precedence=frozenset(str(p).casefold() for p in auto["precedence"]),
            quote_headers=tuple(re.compile(str(p), re.IGNORECASE) for p in data["quote_headers"]),
            quote_block_fields=tuple(str(f).casefold() for f in data["quote_block_fields"]),
            signature_delimiters=frozenset(str(d) for d in signature["delimiters"]),
            sent_from=tuple(fold_text(str(s)) for s in signature["sent_from"]),
            closings=_phrases(signature["closings"]),
            closing_lines_after=int(signature["closing_lines_after"]),
            positive_idioms=_phrases(answers["positive_idioms"]),
            hedges=_phrases(answers["hedges"]),
            conditional_verbs=_words(answers["conditional_verbs"]),
            conditional_then=_words(answers["conditional_then"]),
            other_times=_phrases(answers["other_times"]),
            contrasts=_phrases(answers["contrasts"]),
            deputy=_phrases(answers["deputy"]),
            no=_phrases(answers["no"]),
            apologies=_phrases(answers["apologies"]),
            away_days=_phrases(answers["away_days"]),
            day_is_free=_phrases(answers["day_is_free"]),
            negations=_words(answers["negations"]),
            negations_before_only=_words(answers["negations_before_only"]),
            negation_window=int(answers["negation_window"]),
            short_reply_words=int(answers["short_reply_words"]),
            coming=_phrases(answers["coming"]),
            yes=_phrases(answers["yes"]),
            acknowledgements=_phrases(answers["acknowledgements"]),
            yes_signs=tuple(str(sign) for sign in answers["yes_signs"]),
            no_signs=tuple(str(sign) for sign in answers["no_signs"]),
            question_words=_phrases(answers["questions"]),
            question_starts=_phrases(answers["question_starts"]),
            deputy_anchors=_phrases(names["anchors"]),
            deputy_before_only=_phrases(names["before_only"]),
            deputy_until=_phrases(names["until"]),
            others_coming=_phrases(names["others_coming"]),
            deputy_titles=_phrases(names["titles"] + names["roles"]),
            speakers=_words(names["speakers"]),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, re.error) as error:
        raise RepliesConfigError(
            f"{WORDS_FILE} cannot be used ({type(error).__name__}: {error}): fix the file; "
            "every list of the shipped file must be there."
        ) from None


def fold_text(text: str) -> str:
    """The words of text, folded, with single spaces: for comparing starts of lines."""
    return " ".join(token.folded for token in tokens(text))
