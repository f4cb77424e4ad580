"""Signed tokens for answer, opt-out and check-in links (event and person ids, no contacts), for
a volunteer's sign-in at the door (event id and the name they gave) and for a WhatsApp
coordinator's page (event, stage and a digest of the coordinator's address)."""

import base64
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

Purpose = Literal["answer", "opt-out", "check-in", "volunteer", "coordinator"]


class InvalidTokenError(Exception):
    """The token was altered, made for another purpose, or is too old."""


@dataclass(frozen=True)
class TokenSubject:
    event_id: str
    person_id: int


@lru_cache(maxsize=64)
def _serializer(key: str, purpose: Purpose) -> URLSafeTimedSerializer:
    """One per key and purpose, made once: the web pages check a token on every request."""
    return URLSafeTimedSerializer(key, salt=f"karyashala-{purpose}")


def sign_token(key: str, purpose: Purpose, event_id: str, person_id: int) -> str:
    return str(_serializer(key, purpose).dumps([event_id, person_id]))


def verify_token(
    key: str, purpose: Purpose, token: str, max_age_seconds: int | None = None
) -> TokenSubject:
    payload = _loads(key, purpose, token, max_age_seconds)
    try:
        event_id, person_id = payload
        return TokenSubject(event_id=str(event_id), person_id=int(person_id))
    except (ValueError, TypeError):
        raise InvalidTokenError("invalid") from None


def _loads(key: str, purpose: Purpose, token: str, max_age_seconds: int | None) -> Any:
    """The signed payload; InvalidTokenError if altered, made for another purpose or too old."""
    try:
        return _serializer(key, purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise InvalidTokenError("expired") from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidTokenError("invalid") from None


def ascii_digits(typed: str) -> str:
    """What a person typed, with digits of any script as ASCII digits (१२३ is 123) and no
    spaces: phones in Hindi type Devanagari digits."""
    return "".join(
        str(unicodedata.decimal(char)) if char.isdecimal() else char
        for char in typed
        if not char.isspace()
    )


def check_in_code(key: str, event_id: str, person_id: int) -> str:
    """A short code a volunteer can type at the door: person id plus 6 signed characters."""
    digest = hmac.new(key.encode(), f"check-in:{event_id}:{person_id}".encode(), hashlib.sha256)
    mac = base64.b32encode(digest.digest()).decode()[:6]
    return f"{person_id}-{mac}"


def verify_check_in_code(key: str, event_id: str, code: str) -> int:
    """The person id a check-in code stands for; InvalidTokenError if it was not made by us."""
    typed = ascii_digits(code).upper()
    person_part, _, _ = typed.partition("-")
    if not (person_part.isascii() and person_part.isdigit()):
        raise InvalidTokenError("invalid")
    expected = check_in_code(key, event_id, int(person_part))
    if not hmac.compare_digest(expected.encode(), typed.encode()):
        raise InvalidTokenError("invalid")
    return int(person_part)


def volunteer_pin(key: str, event_id: str, salt: str = "") -> str:
    """The event's door PIN for volunteers: six digits derived from the signing key and the
    event's PIN salt (kept in the store; a new salt is a new PIN). The empty salt gives the
    first PIN, the one derived before PINs could be changed."""
    message = f"volunteer-pin:{event_id}" + (f":{salt}" if salt else "")
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256)
    return f"{int.from_bytes(digest.digest()[:8], 'big') % 1_000_000:06d}"


def pin_matches(typed: str, pin: str) -> bool:
    """Whether what a volunteer typed is the PIN, in any script's digits, spaces ignored."""
    return hmac.compare_digest(ascii_digits(typed).encode(), pin.encode())


def sign_volunteer_session(key: str, event_id: str, pin_salt: str, volunteer: str) -> str:
    """What the door keeps on a volunteer's phone once they signed in with the PIN; it names
    the PIN's salt, so a new PIN ends it."""
    return str(_serializer(key, "volunteer").dumps([event_id, pin_salt, volunteer]))


def verify_volunteer_session(
    key: str, event_id: str, pin_salt: str, token: str, max_age_seconds: int
) -> str:
    """The volunteer a session is for; InvalidTokenError if altered, too old, another event's
    or signed in with a PIN that has since been changed."""
    try:
        signed_event_id, signed_salt, volunteer = _loads(key, "volunteer", token, max_age_seconds)
    except (ValueError, TypeError):
        raise InvalidTokenError("invalid") from None
    if signed_event_id != event_id:
        raise InvalidTokenError("another event")
    if signed_salt != pin_salt:
        raise InvalidTokenError("an old PIN")
    return str(volunteer)


@dataclass(frozen=True)
class CoordinatorLink:
    event_id: str
    stage_id: str
    coordinator_key: str


def sign_coordinator_link(key: str, event_id: str, stage_id: str, coordinator_key: str) -> str:
    return str(_serializer(key, "coordinator").dumps([event_id, stage_id, coordinator_key]))


def verify_coordinator_link(key: str, token: str, max_age_seconds: int) -> CoordinatorLink:
    """Whose page a coordinator link opens; InvalidTokenError if altered or too old."""
    try:
        event_id, stage_id, coordinator_key = _loads(key, "coordinator", token, max_age_seconds)
    except (ValueError, TypeError):
        raise InvalidTokenError("invalid") from None
    return CoordinatorLink(str(event_id), str(stage_id), str(coordinator_key))
