"""Hindi as a newspaper prints it: dates, times of day, lengths, counted nouns, lists, verbs.

Babel gives the weekday and CLDR's month spelling; the paper's idiom (एक दिसम्बर, सुबह साढ़े
10 बजे, 22 जिलों से, क, ख और ग) differs from CLDR, so those rules are ours. Pure functions,
used as jinja filters by the press-note templates.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Literal

import yaml
from babel.dates import get_day_names, get_month_names

from config import TEMPLATES_DIR
from config.event import Gender

Case = Literal["direct", "oblique"]
Tense = Literal["future", "past"]
MonthSpelling = Literal["halant", "anusvara"]

VOWEL_SIGNS = set("ािीुूृेैोौं")
INDEPENDENT_VOWELS = set("अआइईउऊएऐओऔ")


@dataclass(frozen=True)
class Words:
    unchanging_masculine: frozenset[str]
    feminine: frozenset[str]
    day_words: tuple[str, ...]
    months_halant: tuple[str, ...]


@cache
def words() -> Words:
    raw = yaml.safe_load((TEMPLATES_DIR / "press" / "hindi_words.yaml").read_text("utf-8"))
    return Words(
        unchanging_masculine=frozenset(raw["unchanging_masculine"]),
        feminine=frozenset(raw["feminine"]),
        day_words=tuple(raw["day_words"]),
        months_halant=tuple(raw["months_halant"]),
    )


def weekday(moment: datetime) -> str:
    """बुधवार (CLDR's names are the paper's)."""
    return str(get_day_names("wide", locale="hi")[moment.weekday()])


def month(moment: datetime, spelling: MonthSpelling = "halant") -> str:
    if spelling == "halant":
        return words().months_halant[moment.month - 1]
    return str(get_month_names("wide", locale="hi")[moment.month])


def day_month(moment: datetime, spelling: MonthSpelling = "halant") -> str:
    """एक दिसम्बर: the paper spells out a date's day."""
    return f"{words().day_words[moment.day - 1]} {month(moment, spelling)}"


def part_of_day(hour: int) -> str:
    if 4 <= hour < 12:
        return "सुबह"
    if 12 <= hour < 16:
        return "दोपहर"
    if 16 <= hour < 20:
        return "शाम"
    return "रात"


def clock_hour(hour: int) -> int:
    return hour % 12 or 12


def time_of_day(moment: datetime) -> str:
    """As people say it: सुबह साढ़े 10 बजे, दोपहर 2 बजे, शाम पौने 6 बजे, दोपहर ढाई बजे."""
    hour, minute = moment.hour, moment.minute
    period = part_of_day(hour)
    this, following = clock_hour(hour), clock_hour(hour + 1)
    if minute == 0:
        said = f"{this} बजे"
    elif minute == 15:
        said = f"सवा {this} बजे"
    elif minute == 30:
        said = {1: "डेढ़ बजे", 2: "ढाई बजे"}.get(this, f"साढ़े {this} बजे")
    elif minute == 45:
        said = f"पौने {following} बजे"
    else:
        said = f"{this} बजकर {minute} मिनट"
    return f"{period} {said}"


def duration(hours: float, case: Case = "direct") -> str:
    """A length as said, to the nearest quarter hour: 5 घंटे, डेढ़ घंटा, साढ़े 3 घंटे; before a
    postposition (तक) the oblique: 1 घंटे तक, डेढ़ घंटे तक."""
    quarters = max(round(hours * 4), 1)
    whole, rest = divmod(quarters, 4)
    hour_word = "घंटा" if case == "direct" else "घंटे"
    if quarters == 1:
        return "15 मिनट"
    if quarters == 2:
        return "आधा घंटा" if case == "direct" else "आधे घंटे"
    if quarters == 6:
        return f"डेढ़ {hour_word}"
    if quarters == 10:
        return "ढाई घंटे"
    if rest == 0:
        return f"{whole} {hour_word if whole == 1 else 'घंटे'}"
    if rest == 1:
        return f"सवा {whole} {hour_word if whole == 1 else 'घंटे'}"
    if rest == 2:
        return f"साढ़े {whole} घंटे"
    return f"पौने {whole + 1} घंटे"


def is_feminine(word: str) -> bool:
    """From the word list, or by the feminine ending -इका (संयोजिका, अध्यापिका)."""
    return word in words().feminine or word.endswith("िका")


def inflect_word(word: str, plural: bool, case: Case) -> str:
    """One noun in its number and case, by the regular classes and the word list's exceptions."""
    lexicon = words()
    if is_feminine(word):
        if not plural:
            return word
        if word.endswith(("ी", "ि")):
            return word[:-1] + ("ियों" if case == "oblique" else "ियाँ")
        if word.endswith("ा"):
            return word + ("ओं" if case == "oblique" else "एँ")
        return word + ("ों" if case == "oblique" else "ें")
    if word.endswith("ा") and word not in lexicon.unchanging_masculine:
        if not plural and case == "direct":
            return word
        return word[:-1] + ("ों" if plural and case == "oblique" else "े")
    if not plural or case == "direct":
        return word
    if word.endswith(("ी", "ि")):
        return word[:-1] + "ियों"
    if word.endswith("ू"):
        return word[:-1] + "ुओं"
    if word.endswith("ा"):
        return word + "ओं"
    return word + "ों"


def noun(phrase: str, count: int = 1, case: Case = "direct") -> str:
    """A noun phrase agreeing with a count: जिला → 22 जिलों (से); the last word changes."""
    head, _, last = phrase.rpartition(" ")
    inflected = inflect_word(last, plural=count != 1, case=case)
    return f"{head} {inflected}" if head else inflected


def counted(count: int, phrase: str, case: Case = "direct") -> str:
    """Digits and the noun in the right form: 1 जिले, 22 जिलों, 5 संयोजक, 5 संयोजकों."""
    return f"{count} {noun(phrase, count, case)}"


def gender_of(nouns: Sequence[str]) -> Gender:
    """The gender a verb takes for these nouns together: feminine only when every one is
    (8 संयोजिकाएँ और 9 सह संयोजिकाएँ शामिल रहीं); mixed or none take the masculine (रहे)."""
    heads = [noun_phrase.rpartition(" ")[2] for noun_phrase in nouns]
    return "female" if heads and all(is_feminine(head) for head in heads) else "male"


def join(items: Sequence[str]) -> str:
    """क, ख और ग: commas, and और before the last (no comma before it); तथा instead when an
    item has its own और (क और ख तथा ग और घ), so the list's joint stands out."""
    parts = [str(item) for item in items if str(item)]
    if len(parts) < 2:
        return "".join(parts)
    conjunction = "तथा" if any("और" in part.split() for part in parts) else "और"
    return f"{', '.join(parts[:-1])} {conjunction} {parts[-1]}"


IRREGULAR_PAST = {
    "कर": ("किया", "की", "किए", "कीं"),
    "जा": ("गया", "गई", "गए", "गईं"),
    "हो": ("हुआ", "हुई", "हुए", "हुईं"),
    "दे": ("दिया", "दी", "दिए", "दीं"),
    "ले": ("लिया", "ली", "लिए", "लीं"),
}


def ends_in_vowel(stem: str) -> bool:
    return stem[-1] in VOWEL_SIGNS or stem[-1] in INDEPENDENT_VOWELS


def verb(
    stem: str,
    tense: Tense = "future",
    gender: Gender = "male",
    count: int = 1,
    honorific: bool = False,
) -> str:
    """The verb agreeing with its subject; office-bearers take the honorific plural even alone
    (धनखड़ मौजूद रहेंगे), counted people take their number (1 कार्यकर्ता रहा, 5 रहे)."""
    head, _, last = stem.rpartition(" ")
    plural = honorific or count != 1
    form = (past if tense == "past" else future)(last, gender, plural)
    return f"{head} {form}" if head else form


def future(stem: str, gender: Gender, plural: bool) -> str:
    ending = {
        ("male", False): "गा",
        ("female", False): "गी",
        ("male", True): "ंगे",
        ("female", True): "ंगी",
    }[gender, plural]
    if stem in ("हो", "दे", "ले"):
        return stem + ending
    return stem + ("ए" if ends_in_vowel(stem) else "े") + ending


def past(stem: str, gender: Gender, plural: bool) -> str:
    index = (gender == "female") + 2 * plural
    if stem in IRREGULAR_PAST:
        return IRREGULAR_PAST[stem][index]
    if ends_in_vowel(stem):
        return stem + ("या", "ई", "ए", "ईं")[index]
    return stem + ("ा", "ी", "े", "ीं")[index]
