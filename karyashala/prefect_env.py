"""Prefect defaults for every command: no telemetry, state under the data dir, and a temporary
Prefect server that never outlives the command that started it."""

import asyncio
import os
import signal
import threading
import time

from tasks.common.processes import is_running

# The pid of the process a Prefect server child belongs to. The child reads it to tell a parent
# killed before the child could watch it (the child then already has another parent) from one
# that is still there.
PARENT_PID = "KARYASHALA_SERVER_PARENT_PID"
# Prefect starts its temporary server as `python -m uvicorn …` with this process's environment,
# and uvicorn takes options it is not given on its command line from UVICORN_* variables.
BOUND_LOOP = "karyashala.prefect_env:event_loop_bound_to_parent"
PARENT_POLL_SECONDS = 0.5
# A server still starting finishes its startup before it acts on SIGTERM (~15 s on a new home);
# after this long it exits without its shutdown.
SHUTDOWN_GRACE_SECONDS = 5.0


def apply_prefect_defaults() -> None:
    """Set before Prefect is imported; an operator's own PREFECT_* and UVICORN_LOOP win."""
    # Imported here: the server child imports this module for its event loop, and nothing
    # beyond the standard library and uvicorn should stand between it and its watch.
    from config.settings import load_settings

    settings = load_settings()
    defaults = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_HOME": str((settings.data_dir / "prefect").resolve()),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "UVICORN_LOOP": BOUND_LOOP,
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    os.environ[PARENT_PID] = str(os.getpid())


def event_loop_bound_to_parent() -> asyncio.AbstractEventLoop:
    """uvicorn's own choice of event loop, in a server that stops when its parent is gone:
    a SIGKILLed command runs no cleanup, so its temporary server has to notice by itself."""
    from uvicorn.loops.auto import auto_loop_factory

    exit_with_parent()
    return auto_loop_factory()()


def exit_with_parent() -> None:
    """Stop this process once its parent is gone, by a daemon thread polling the parent pid
    (PR_SET_PDEATHSIG would fire when the parent's forking thread ends, not the parent)."""
    declared = os.environ.get(PARENT_PID, "")
    threading.Thread(
        target=watch_parent,
        args=(os.getppid(), int(declared) if declared.isdigit() else None),
        name="exit-with-parent",
        daemon=True,
    ).start()


def watch_parent(parent: int, declared: int | None) -> None:
    """Return only by stopping the process. A declared parent that is not our parent and no
    longer runs died before the watch began, when the server had opened nothing yet: exit at
    once. One still running is an ancestor whose environment came down to us through another
    process, the one to watch."""
    if declared is not None and declared != parent and not is_running(declared):
        os._exit(1)
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown
    time.sleep(SHUTDOWN_GRACE_SECONDS)
    os._exit(1)
