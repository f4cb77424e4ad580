"""Who holds a claim on ledger rows, and whether that holder is still there.

A claim names its run, host, process id and the process's start, so a rerun on the same machine
can tell at once that the sender died (its process is gone, or the id now belongs to another
process) and take its messages; a holder on another machine is trusted until its lease runs out,
and a live sender keeps renewing it.
"""

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from tasks.common.processes import process_start

HOST = socket.gethostname()[:255]


@cache
def own_start() -> str:
    return process_start(os.getpid()) or ""


@dataclass(frozen=True)
class Holder:
    run_id: str
    host: str
    pid: int
    process_start: str

    @classmethod
    def this_process(cls, run_id: str) -> "Holder":
        return cls(run_id, HOST, os.getpid(), own_start())

    def claim_values(self) -> dict[str, object]:
        return {
            "claimed_by": self.run_id,
            "claim_host": self.host,
            "claim_pid": self.pid,
            "claim_process_start": self.process_start,
        }


def is_gone(host: str | None, pid: int | None, started: str | None) -> bool:
    """True when the holder ran on this machine and its process no longer runs."""
    if host != HOST or pid is None:
        return False
    now_started = process_start(pid)
    if now_started is None:
        return True
    return bool(started) and bool(now_started) and now_started != started


@dataclass(frozen=True)
class HeldClaim:
    """Messages of a stage that another run holds."""

    run_id: str
    host: str
    pid: int | None
    count: int
    since: datetime
    renewed_at: datetime

    @property
    def local(self) -> bool:
        return self.host == HOST

    def describe(self) -> str:
        where = f"{self.host}, pid {self.pid}" if self.pid is not None else self.host
        return (
            f"{self.count} message(s) held by another run ({where}, since "
            f"{self.since:%Y-%m-%d %H:%M:%S} UTC), which is still sending; run the stage "
            "again once it has finished"
        )
