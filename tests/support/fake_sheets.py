"""A Google Sheets API v4 server on loopback, for the real gspread client and google-auth.

It serves the token exchange (verifying the service account's signed JWT), spreadsheet
metadata, values reads and writes, and addSheet; it records every request and fails or stalls
on demand.
"""

import json
import multiprocessing
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 200


@dataclass
class Worksheet:
    sheet_id: int
    title: str
    rows: list[list[str]] = field(default_factory=list)
    formulas: set[tuple[int, int]] = field(default_factory=set)
    row_count: int = 1000


def parse_range(text: str) -> tuple[str, int, int]:
    """'Title'!B3 → (Title, row 2, column 1), zero-based; a bare title starts at A1."""
    title, _, cell = text.partition("!")
    if title.startswith("'") and title.endswith("'"):
        title = title[1:-1].replace("''", "'")
    start = cell.split(":")[0]
    letters = "".join(ch for ch in start if ch.isalpha())
    digits = "".join(ch for ch in start if ch.isdigit())
    column = 0
    for letter in letters.upper():
        column = column * 26 + ord(letter) - 64
    return title, max(int(digits or 1) - 1, 0), max(column - 1, 0)


class FakeSheets:
    def __init__(self) -> None:
        self.spreadsheets: dict[str, dict[str, Worksheet]] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: deque[tuple[str, float]] = deque()
        self.always_fail: int | None = None
        self.tokens: set[str] = set()
        self._lock = threading.Lock()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeSheets":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # What a test sets up and reads back.

    def add_spreadsheet(self, key: str, sheets: dict[str, list[list[str]]]) -> None:
        self.spreadsheets[key] = {
            title: Worksheet(
                sheet_id=index,
                title=title,
                rows=[list(r) for r in rows],
                row_count=max(1000, len(rows)),
            )
            for index, (title, rows) in enumerate(sheets.items())
        }

    def values(self, key: str, title: str) -> list[list[str]]:
        """A worksheet's non-empty content, trimmed as Google trims it."""
        return _trimmed(self.spreadsheets[key][title].rows)

    def formula_cells(self, key: str, title: str) -> set[tuple[int, int]]:
        return set(self.spreadsheets[key][title].formulas)

    def api_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path != "/token"]

    def fail_next(self, status: int, times: int = 1) -> None:
        self.faults.extend([("status", float(status))] * times)

    def stall_next(self, seconds: float, times: int = 1) -> None:
        self.faults.extend([("stall", seconds)] * times)

    def service_account_file(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "karyashala-test",
                    "private_key_id": uuid.uuid4().hex,
                    "private_key": self.private_pem,
                    "client_email": "roster-sync@karyashala-test.iam.gserviceaccount.com",
                    "client_id": "1",
                    "token_uri": f"{self.base_url}/token",
                }
            ),
            encoding="utf-8",
        )
        return path

    # The HTTP side.

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_PUT(self) -> None:
                fake._serve(self, "PUT")

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = unquote(parts.path)
        if path == "/token":
            body: Any = parse_qs(raw.decode())
        else:
            body = json.loads(raw) if raw else None
        record = RecordedRequest(method, path, parse_qs(parts.query), body)
        with self._lock:
            self.requests.append(record)
            fault = self.faults.popleft() if self.faults and path != "/token" else None
        if fault and fault[0] == "stall":
            time.sleep(fault[1])
        status, payload = self._answer(handler, method, path, body, fault)
        record.status = status
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=UTF-8")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(
        self,
        handler: BaseHTTPRequestHandler,
        method: str,
        path: str,
        body: Any,
        fault: tuple[str, float] | None,
    ) -> tuple[int, Any]:
        if path == "/token":
            return self._token(body)
        failure = int(fault[1]) if fault and fault[0] == "status" else self.always_fail
        if failure:
            return failure, _error(failure, "injected failure")
        token = handler.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return 401, _error(401, "Request had invalid authentication credentials.")
        prefix = "/v4/spreadsheets/"
        if not path.startswith(prefix):
            return 404, _error(404, "Not found")
        rest = path[len(prefix) :]
        if method == "POST" and rest.endswith(":batchUpdate") and "/values" not in rest:
            return self._batch_update(rest.removesuffix(":batchUpdate"), body)
        if method == "POST" and rest.endswith("/values:batchUpdate"):
            return self._values_batch_update(rest.removesuffix("/values:batchUpdate"), body)
        key, _, range_part = rest.partition("/values/")
        if key not in self.spreadsheets:
            return 404, _error(404, "Requested entity was not found.")
        if method == "GET" and not range_part:
            return 200, self._metadata(key)
        if method == "GET":
            title, row, column = parse_range(range_part)
            sheet = self.spreadsheets[key].get(title)
            if sheet is None:
                return 400, _error(400, f"Unable to parse range: {range_part}")
            values = [r[column:] for r in _trimmed(sheet.rows)[row:]]
            return 200, {"range": range_part, "majorDimension": "ROWS", "values": values}
        return 404, _error(404, "Not found")

    def _token(self, form: dict[str, list[str]]) -> tuple[int, Any]:
        assertion = form.get("assertion", [""])[0]
        try:
            jwt.decode(  # type: ignore[no-untyped-call]
                assertion, certs=self.public_pem, audience=GOOGLE_TOKEN_AUDIENCE
            )
        except ValueError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def _metadata(self, key: str) -> dict[str, Any]:
        return {
            "spreadsheetId": key,
            "properties": {"title": f"Roster {key}", "locale": "en_IN"},
            "sheets": [
                {
                    "properties": {
                        "sheetId": sheet.sheet_id,
                        "title": sheet.title,
                        "index": index,
                        "gridProperties": {
                            "rowCount": max(sheet.row_count, len(sheet.rows)),
                            "columnCount": max([26, *(len(r) for r in sheet.rows)]),
                        },
                    }
                }
                for index, sheet in enumerate(self.spreadsheets[key].values())
            ],
        }

    def _batch_update(self, key: str, body: Any) -> tuple[int, Any]:
        sheets = self.spreadsheets.get(key)
        if sheets is None:
            return 404, _error(404, "Requested entity was not found.")
        replies = []
        for request in body.get("requests", []):
            if "addSheet" not in request:
                return 400, _error(400, f"Unsupported request: {sorted(request)}")
            properties = request["addSheet"].get("properties", {})
            title = properties["title"]
            if title in sheets:
                return 400, _error(400, f'A sheet with the name "{title}" already exists.')
            sheet_id = max((s.sheet_id for s in sheets.values()), default=0) + 1
            grid = properties.get("gridProperties", {})
            sheets[title] = Worksheet(sheet_id, title, row_count=grid.get("rowCount", 1000))
            replies.append({"addSheet": {"properties": {"sheetId": sheet_id, "title": title}}})
        return 200, {"spreadsheetId": key, "replies": replies}

    def _values_batch_update(self, key: str, body: Any) -> tuple[int, Any]:
        sheets = self.spreadsheets.get(key)
        if sheets is None:
            return 404, _error(404, "Requested entity was not found.")
        option = body.get("valueInputOption")
        if option not in ("RAW", "USER_ENTERED"):
            return 400, _error(400, "valueInputOption is required")
        updated = 0
        for item in body.get("data", []):
            title, row, column = parse_range(item["range"])
            sheet = sheets.get(title)
            if sheet is None:
                return 400, _error(400, f"Unable to parse range: {item['range']}")
            for r, values in enumerate(item["values"]):
                while len(sheet.rows) <= row + r:
                    sheet.rows.append([])
                target = sheet.rows[row + r]
                for c, value in enumerate(values):
                    while len(target) <= column + c:
                        target.append("")
                    text = "" if value is None else str(value)
                    target[column + c] = text
                    cell = (row + r, column + c)
                    if option == "USER_ENTERED" and text.startswith("="):
                        sheet.formulas.add(cell)
                    else:
                        sheet.formulas.discard(cell)
                    updated += 1
        return 200, {"spreadsheetId": key, "totalUpdatedCells": updated}


def _trimmed(rows: list[list[str]]) -> list[list[str]]:
    result = []
    for row in rows:
        cells = list(row)
        while cells and cells[-1] == "":
            cells.pop()
        result.append(cells)
    while result and not result[-1]:
        result.pop()
    return result


def _error(code: int, message: str) -> dict[str, Any]:
    status = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        503: "UNAVAILABLE",
    }.get(code, "INTERNAL")
    return {"error": {"code": code, "message": message, "status": status}}


SheetsFactory = Callable[[], dict[str, dict[str, list[list[str]]]]]


def _serve_in_child(connection: Connection, make_sheets: SheetsFactory, directory: str) -> None:
    with FakeSheets() as fake:
        for key, sheets in make_sheets().items():
            fake.add_spreadsheet(key, sheets)
        credentials = fake.service_account_file(Path(directory) / "service-account.json")
        connection.send((fake.base_url, str(credentials)))
        while (command := connection.recv()) != "stop":
            if command == "requests":
                connection.send([(r.method, r.path) for r in fake.api_requests()])
            elif command == "clear":
                fake.requests.clear()
                connection.send(None)


class FakeSheetsProcess:
    """The fake server in a process of its own, so a benchmark measures only the client.

    make_sheets runs in that process (a module-level function: it is pickled by name)."""

    def __init__(self, make_sheets: SheetsFactory, directory: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve_in_child, args=(child, make_sheets, str(directory)), daemon=True
        )
        self.base_url = ""
        self.credentials = ""

    def __enter__(self) -> "FakeSheetsProcess":
        self.process.start()
        self.base_url, self.credentials = self.connection.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.send("stop")
        self.process.join(timeout=10)

    def api_requests(self) -> list[tuple[str, str]]:
        self.connection.send("requests")
        return list(self.connection.recv())

    def clear(self) -> None:
        self.connection.send("clear")
        self.connection.recv()
