"""Limits on the POSTs the pages take, counted in the store: every process serving the pages
shares them, and a restart keeps them. A limit is counted inside the page's writing
transaction, which holds the key from its count to its commit, so two requests at once (in
one process or two) never both take the last hit: on PostgreSQL a transaction-level advisory
lock named by the key; on SQLite the writing transaction holds the database's write lock from
its start (store.db.transaction)."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, text
from sqlalchemy.orm import Session

from store.models import LimitHit, utc_now

# Statements of the table, not the ORM class: an ORM insert costs three times a plain one.
HITS = cast(Table, LimitHit.__table__)
HIT = HITS.c
HITS_SINCE = select(func.count()).where(
    HIT.scope == bindparam("scope"), HIT.key == bindparam("key"), HIT.at > bindparam("since")
)
ADD_HIT = insert(HITS)
# Hits out of their window, but not those another transaction is deleting at the same moment
# (PostgreSQL): waiting for it would only hold this request up.
EXPIRED = (
    select(HIT.id)
    .where(HIT.scope == bindparam("scope"), HIT.at <= bindparam("before"))
    .with_for_update(skip_locked=True)
)
FORGET_EXPIRED = delete(HITS).where(HIT.id.in_(EXPIRED))
HOLD_KEY = text("SELECT pg_advisory_xact_lock(:lock)")


@dataclass(frozen=True)
class Limit:
    """At most `limit` hits per key in `window`. The scope names the limit in the store; a key
    is kept only as a digest, so the store holds no address or name."""

    scope: str
    limit: int
    window: timedelta = timedelta(minutes=10)
    clock: Callable[[], datetime] = utc_now

    def exceeded(self, session: Session, key: str) -> bool:
        """Whether the key has used up its hits; asking counts nothing. The key stays held
        until the transaction ends, so a hit counted after asking is counted against what the
        answer saw."""
        digest = self.digest(key)
        hold(session, digest)
        since = self.clock() - self.window
        hits = session.scalar(HITS_SINCE, {"scope": self.scope, "key": digest, "since": since})
        return (hits or 0) >= self.limit

    def hit(self, session: Session, key: str) -> None:
        """Count one hit for the key, whether or not it has any left, and forget the scope's
        hits that are out of the window."""
        now = self.clock()
        session.execute(ADD_HIT, {"scope": self.scope, "key": self.digest(key), "at": now})
        session.execute(FORGET_EXPIRED, {"scope": self.scope, "before": now - self.window})

    def allow(self, session: Session, key: str) -> bool:
        """Count a hit if the key has hits left; False if it has none."""
        if self.exceeded(session, key):
            return False
        self.hit(session, key)
        return True

    def digest(self, key: str) -> str:
        return hashlib.sha256(f"{self.scope}:{key}".encode()).hexdigest()[:32]


def hold(session: Session, digest: str) -> None:
    """Hold a key until the transaction ends. SQLite needs nothing more: it takes one writer at
    a time, and the writing transaction has held the database since it began."""
    if session.get_bind().dialect.name == "postgresql":
        lock = int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)
        session.execute(HOLD_KEY, {"lock": lock})
