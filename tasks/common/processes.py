"""Processes on this machine, as the kernel lists them: whether one still runs, when it started,
and its children. Claims on the ledger and the watch on a server's parent both ask."""

import os
from contextlib import suppress
from pathlib import Path

HAS_PROC = Path("/proc/self/stat").exists()


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and
    parentheses), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return stat.rpartition(")")[2].split()


def signal_reaches(pid: int) -> bool:
    """Where there is no /proc: whether a signal would reach pid (a zombie counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_running(pid: int) -> bool:
    """Whether pid is a live process: a killed process stays a zombie until it is reaped."""
    if not HAS_PROC:
        return signal_reaches(pid)
    fields = stat_fields(pid)
    return fields is not None and fields[0] not in {"Z", "X"}


def process_start(pid: int) -> str | None:
    """The start of process pid as the kernel counts it (ticks since boot), or None when there is
    no such process; "" where the platform does not say (then a live pid is taken as the same)."""
    if not HAS_PROC:
        return "" if signal_reaches(pid) else None
    fields = stat_fields(pid)
    return None if fields is None else fields[19]


def children(pid: int) -> list[int]:
    """The direct children of pid, of all its threads."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(OSError):  # a thread that ended while we looked
            found += [int(child) for child in (task / "children").read_text().split()]
    return found
