"""The reply corpus (tests/replies_corpus): each message gets the kind, answer, bounced
addresses and deputy that expected.yaml names for it, and an ambiguous reply is never taken
for a yes or a no. The table of precision and recall is printed and attached to every failure,
so a change to the classifier shows what it gained and what it broke."""

import email
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tasks.replies.classify import Classification, classify_message
from tests.conftest import FIGURES

CORPUS = Path(__file__).resolve().parent / "replies_corpus"
EXPECTED_FILE = CORPUS / "expected.yaml"
KINDS = ("reply", "bounce", "auto_reply")
ANSWERS = ("confirmed", "declined", "deputy", "question", "unclear")
AMBIGUOUS_MAY_BE = frozenset({"unclear", "question"})
HONORIFICS = frozenset({"ji", "जी", "sh", "shri", "श्री", "mr", "ms", "mrs", "smt", "श्रीमती"})
SHOWN_TEXT = 80


@dataclass(frozen=True)
class Case:
    """One corpus message: what expected.yaml says and what the classifier made of it."""

    name: str
    expected: dict[str, Any]
    got: Classification | None
    error: str | None

    @property
    def clear(self) -> bool:
        return bool(self.expected.get("clear", True))

    def shown(self) -> str:
        if self.got is None:
            return f"raised {self.error}"
        text = " ".join(self.got.new_text.split())[:SHOWN_TEXT]
        return (
            f"got kind={self.got.kind} answer={self.got.answer} "
            f"deputy={self.got.deputy_name!r} bounced={sorted(self.got.bounced)} "
            f"new text={text!r}"
        )


@dataclass(frozen=True)
class Outcome:
    cases: list[Case]
    report: str


def corpus_files() -> list[str]:
    return sorted(path.name for path in CORPUS.glob("*.eml"))


def expected_entries() -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load(EXPECTED_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{EXPECTED_FILE} must map file names to entries"
    return loaded


def classify(name: str, expected: dict[str, Any]) -> Case:
    raw = (CORPUS / name).read_bytes()
    try:
        return Case(name, expected, classify_message(raw), None)
    except Exception as error:
        # A message that breaks the classifier is listed by name with the others,
        # instead of hiding every result behind the first traceback.
        return Case(name, expected, None, f"{type(error).__name__}: {error}")


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "-"


def score_rows(
    cases: list[Case], labels: tuple[str, ...], label_of: Callable[[Case], tuple[Any, Any]]
) -> list[str]:
    rows = []
    for label in labels:
        pairs = [label_of(case) for case in cases]
        expected = sum(1 for want, _ in pairs if want == label)
        got = sum(1 for _, have in pairs if have == label)
        right = sum(1 for want, have in pairs if want == have == label)
        rows.append(
            f"{label:<12}{expected:>9}{got:>6}{right:>7}"
            f"{ratio(right, got):>11}{ratio(right, expected):>8}"
        )
    return rows


def expected_and_got_answer(case: Case) -> tuple[Any, Any]:
    return case.expected.get("answer"), case.got.answer if case.got else None


def expected_and_got_kind(case: Case) -> tuple[Any, Any]:
    return case.expected.get("kind"), case.got.kind if case.got else None


def table_header(title: str) -> str:
    return f"{title:<12}{'expected':>9}{'got':>6}{'right':>7}{'precision':>11}{'recall':>8}"


def report_for(cases: list[Case]) -> str:
    clear = [case for case in cases if case.clear]
    lines = [
        f"reply corpus: {len(cases)} messages, {len(clear)} clear "
        f"(answers as written in expected.yaml, ambiguous ones included)",
        table_header("answer"),
        *score_rows(cases, ANSWERS, expected_and_got_answer),
        table_header("kind"),
        *score_rows(cases, KINDS, expected_and_got_kind),
    ]
    failures = {
        "kind": kind_failures(cases),
        "answer": answer_failures(cases),
        "bounced": bounced_failures(cases),
        "deputy": deputy_failures(cases),
        "ambiguous taken as yes/no": ambiguity_failures(cases),
    }
    lines.append(
        "failing: "
        + ", ".join(f"{what} {len(wrong)}" for what, wrong in failures.items())
        + f" (of {len(clear)} clear, {len(cases) - len(clear)} ambiguous)"
    )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def outcome() -> Outcome:
    entries = expected_entries()
    cases = [classify(name, entries[name]) for name in corpus_files() if name in entries]
    report = report_for(cases)
    print("\n" + report)
    return Outcome(cases, report)


def comparable_name(name: str) -> str:
    """Case and spacing aside, and an honorific (ji, जी, Shri) present or not."""
    words = name.casefold().replace(".", " ").split()
    while words and words[0] in HONORIFICS:
        words.pop(0)
    while words and words[-1] in HONORIFICS:
        words.pop()
    return " ".join(words)


def kind_failures(cases: list[Case]) -> list[str]:
    return [
        f"{case.name}: expected {case.expected['kind']}, {case.shown()}"
        for case in cases
        if case.clear and (case.got is None or case.got.kind != case.expected["kind"])
    ]


def answer_failures(cases: list[Case]) -> list[str]:
    return [
        f"{case.name}: expected {case.expected['answer']}, {case.shown()}"
        for case in cases
        if case.clear and (case.got is None or case.got.answer != case.expected["answer"])
    ]


def bounced_failures(cases: list[Case]) -> list[str]:
    failures = []
    for case in cases:
        wanted = set(case.expected.get("bounced") or [])
        if case.clear and (case.got is None or set(case.got.bounced) != wanted):
            failures.append(f"{case.name}: expected bounced {sorted(wanted)}, {case.shown()}")
    return failures


def deputy_failures(cases: list[Case]) -> list[str]:
    failures = []
    for case in cases:
        wanted = case.expected.get("deputy_name")
        if not case.clear or wanted is None:
            continue
        got = case.got.deputy_name if case.got else None
        if comparable_name(got or "") != comparable_name(wanted):
            failures.append(f"{case.name}: expected deputy {wanted!r}, {case.shown()}")
    return failures


def ambiguity_failures(cases: list[Case]) -> list[str]:
    return [
        f"{case.name}: ambiguous, must not be confirmed or declined; {case.shown()}"
        for case in cases
        if not case.clear and (case.got is None or case.got.answer in {"confirmed", "declined"})
    ]


def failure_message(what: str, failures: list[str], report: str) -> str:
    return f"{len(failures)} {what}:\n" + "\n".join(failures) + "\n\n" + report


def entry_problems(name: str, entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        return [f"{name}: the entry is not a mapping"]
    problems = []
    kind, answer = entry.get("kind"), entry.get("answer")
    if kind not in KINDS:
        problems.append(f"{name}: kind {kind!r} is not one of {KINDS}")
    if kind == "reply" and answer not in ANSWERS:
        problems.append(f"{name}: a reply's answer {answer!r} is not one of {ANSWERS}")
    if kind != "reply" and answer is not None:
        problems.append(f"{name}: only a reply has an answer, not a {kind}")
    if not isinstance(entry.get("clear"), bool):
        problems.append(f"{name}: clear must be true or false")
    elif not entry["clear"] and answer not in AMBIGUOUS_MAY_BE:
        problems.append(f"{name}: an ambiguous reply is expected unclear or question")
    bounced = entry.get("bounced")
    if kind == "bounce" and not isinstance(bounced, list):
        problems.append(f"{name}: a bounce lists its bounced addresses (maybe [])")
    if kind != "bounce" and bounced is not None:
        problems.append(f"{name}: only a bounce lists bounced addresses")
    if isinstance(bounced, list) and any(str(a) != str(a).lower() for a in bounced):
        problems.append(f"{name}: bounced addresses are written in lower case")
    return problems


def test_every_message_has_one_well_formed_entry_and_every_entry_a_message() -> None:
    files = set(corpus_files())
    entries = expected_entries()
    problems = [f"{name}: no entry in expected.yaml" for name in sorted(files - set(entries))]
    problems += [f"{name}: entry without a file" for name in sorted(set(entries) - files)]
    for name, entry in sorted(entries.items()):
        problems += entry_problems(name, entry)
    assert not problems, "\n".join(problems)


def test_every_message_is_well_formed_mime() -> None:
    problems = []
    for name in corpus_files():
        message = email.message_from_bytes((CORPUS / name).read_bytes(), policy=policy.default)
        missing = [header for header in ("From", "Date", "Subject") if message[header] is None]
        if missing:
            problems.append(f"{name}: no {', '.join(missing)} header")
        for part in message.walk():
            if part.defects:
                problems.append(f"{name}: {part.get_content_type()} {part.defects}")
    assert not problems, "\n".join(problems)


def test_clear_messages_get_the_expected_kind(outcome: Outcome) -> None:
    failures = kind_failures(outcome.cases)
    assert not failures, failure_message("messages of the wrong kind", failures, outcome.report)


def test_clear_messages_get_the_expected_answer(
    outcome: Outcome, record_property: Callable[[str, object], None]
) -> None:
    record_property(FIGURES, outcome.report)  # printed at the end of the run, passed or not
    failures = answer_failures(outcome.cases)
    assert not failures, failure_message("wrong answers", failures, outcome.report)


def test_bounces_list_exactly_the_permanently_failed_addresses(outcome: Outcome) -> None:
    failures = bounced_failures(outcome.cases)
    assert not failures, failure_message("wrong bounced lists", failures, outcome.report)


def test_deputies_are_named(outcome: Outcome) -> None:
    failures = deputy_failures(outcome.cases)
    assert not failures, failure_message("deputies misnamed", failures, outcome.report)


def test_ambiguous_replies_are_never_confirmed_or_declined(outcome: Outcome) -> None:
    failures = ambiguity_failures(outcome.cases)
    assert not failures, failure_message(
        "ambiguous replies taken as a yes or a no", failures, outcome.report
    )
