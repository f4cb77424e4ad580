"""How `karyashala rsvp serve` runs uvicorn: its logging, with tokens cut in the access log,
and its connections. Kept apart from the app, with nothing heavy to import: each worker
process loads this before it answers the supervisor's first health check, and the app after."""

import asyncio
import copy
import logging
import re
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

TOKEN_IN_PATH = re.compile(r"^(/[ruw]/[^/?]{6})[^/?]+")


class ShortTokens(logging.Filter):
    """Cuts the token of an answer, opt-out or coordinator path in the access log to its first
    6 characters: enough to follow one link through the log, too little to use it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                TOKEN_IN_PATH.sub(r"\1…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def logging_config() -> dict[str, Any]:
    """uvicorn's logging, with tokens cut in its access log, and the web app's own warnings."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["short_tokens"] = {"()": ShortTokens}
    config["handlers"]["access"]["filters"] = ["short_tokens"]
    config["loggers"]["web"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 with Nagle's algorithm off on every connection. asyncio turns it off
    itself, but not on the connections of the socket uvicorn binds for its worker processes
    (`--workers`): there each response's body waited for the client's delayed ACK of its head,
    some 40 ms a request."""

    # A transport narrower than asyncio.Protocol's, as in uvicorn's own method.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
