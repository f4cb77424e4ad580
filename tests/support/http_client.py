"""A bare HTTP/1.1 client on one keep-alive connection, for loads and for tests that must know
which connection (and so which server process) a request went over."""

import asyncio
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass
class Connection:
    """HTTP/1.1 on one keep-alive connection, and no more: an async httpx client spends about
    2 ms of CPU a request, as much as the server, which on 2 shared cores measures the client."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    host: str

    @classmethod
    async def open(cls, host: str, port: int) -> "Connection":
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(
        self, method: str, path: str, fields: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        body = urlencode(fields).encode() if method == "POST" else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        if method == "POST":
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line, *header_lines = (
            (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        )
        headers = dict(line.lower().split(": ", 1) for line in header_lines if line)
        answer = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), answer.decode()

    def close(self) -> None:
        self.writer.close()
