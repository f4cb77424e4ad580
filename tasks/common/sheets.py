"""Google Sheets through gspread: bounded retries, a timeout, O(1) requests per sync."""

import json
import random
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import gspread
import requests
from google.auth.credentials import Credentials
from gspread.exceptions import APIError
from requests.adapters import HTTPAdapter

from config.errors import RosterSourceError
from config.settings import SHEETS_RATE_LIMIT, Settings, secret_block_value
from tasks.common.limits import take_rate_limit

SHEETS_URL = "https://sheets.googleapis.com/"
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
PROBLEMS_WORKSHEET = "Problems / समस्याएँ"


class SheetsUnavailableError(RosterSourceError):
    """Google kept failing after the allowed retries, or a request was refused."""


class EndpointAdapter(HTTPAdapter):
    """Sends requests meant for sheets.googleapis.com to another base URL."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") + "/"

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if request.url and request.url.startswith(SHEETS_URL):
            request.url = self.base_url + request.url[len(SHEETS_URL) :]
        return super().send(request, **kwargs)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_seconds: float
    timeout_seconds: float


class BoundedRetryHTTPClient(gspread.HTTPClient):
    """gspread's client with retries that end: 429/5xx and timeouts, backoff with full jitter."""

    policy = RetryPolicy(max_attempts=5, backoff_seconds=1.0, timeout_seconds=30.0)
    global_limits = False

    def __init__(self, auth: Credentials, session: requests.Session | None = None) -> None:
        super().__init__(auth, session)
        self.set_timeout(self.policy.timeout_seconds)

    def request(
        self,
        method: str,
        endpoint: str,
        params: Any = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: MutableMapping[str, str] | None = None,
    ) -> requests.Response:
        for attempt in range(1, self.policy.max_attempts + 1):
            take_rate_limit(self.global_limits, SHEETS_RATE_LIMIT)
            try:
                return super().request(method, endpoint, params, data, json, files, headers)
            except APIError as error:
                if error.code not in RETRYABLE_STATUS or attempt == self.policy.max_attempts:
                    raise
            except (requests.Timeout, requests.ConnectionError):
                if attempt == self.policy.max_attempts:
                    raise
            time.sleep(random.uniform(0, self.policy.backoff_seconds * 2 ** (attempt - 1)))
        raise AssertionError("unreachable: the last attempt returns or raises")


def _service_account_info(settings: Settings) -> dict[str, Any]:
    if settings.google_credentials_block:
        secret = secret_block_value(settings.google_credentials_block)
        return secret if isinstance(secret, dict) else json.loads(secret)
    if settings.google_credentials_path:
        try:
            return dict(json.loads(settings.google_credentials_path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as error:
            raise RosterSourceError(
                f"Cannot read the Google service-account file named by "
                f"KARYASHALA_GOOGLE_CREDENTIALS_PATH ({type(error).__name__})."
            ) from None
    raise RosterSourceError(
        "No Google credentials: set KARYASHALA_GOOGLE_CREDENTIALS_PATH to a service-account "
        "JSON file or KARYASHALA_GOOGLE_CREDENTIALS_BLOCK to a Prefect Secret block holding it."
    )


def sheets_client(settings: Settings) -> gspread.HTTPClient:
    """An authorised low-level client; its methods each cost exactly one request (plus retries)."""
    policy = RetryPolicy(
        max_attempts=settings.sheets_max_attempts,
        backoff_seconds=settings.sheets_backoff_seconds,
        timeout_seconds=settings.sheets_timeout_seconds,
    )
    client_class = type(
        "ConfiguredHTTPClient",
        (BoundedRetryHTTPClient,),
        {"policy": policy, "global_limits": settings.global_limits},
    )
    client = gspread.service_account_from_dict(
        _service_account_info(settings), http_client=client_class
    ).http_client
    if settings.sheets_endpoint:
        client.session.mount(SHEETS_URL, EndpointAdapter(settings.sheets_endpoint))
    return client


def quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def describe_failure(error: Exception, key: str, worksheet: str | None) -> SheetsUnavailableError:
    """Say which sheet failed and what to do, without echoing the server's body."""
    where = (
        f"worksheet {worksheet!r} of spreadsheet {key!r}" if worksheet else f"spreadsheet {key!r}"
    )
    if isinstance(error, APIError):
        status = error.code
        advice = {
            403: "share the spreadsheet with the service account's email address",
            404: "check the spreadsheet_key in the event file",
            429: "Google's quota is used up for now; run the sync again in a minute",
        }.get(status, "Google's service failed; run the sync again later")
        return SheetsUnavailableError(f"Google Sheets refused {where} (HTTP {status}): {advice}.")
    return SheetsUnavailableError(
        f"Google Sheets did not answer for {where} ({type(error).__name__}); "
        "check the network and run the sync again."
    )


def fetch_metadata(client: gspread.HTTPClient, key: str) -> Mapping[str, Any]:
    try:
        return client.fetch_sheet_metadata(key)
    except (APIError, requests.RequestException) as error:
        raise describe_failure(error, key, None) from None


def worksheet_titles(metadata: Mapping[str, Any]) -> list[str]:
    return [sheet["properties"]["title"] for sheet in metadata.get("sheets", [])]


def read_worksheet(key: str, worksheet: str | None, settings: Settings) -> list[list[str]]:
    """The worksheet's cells as text, in two requests: metadata, then one values read."""
    client = sheets_client(settings)
    titles = worksheet_titles(fetch_metadata(client, key))
    title = worksheet or (titles[0] if titles else None)
    if title is None or title not in titles:
        raise RosterSourceError(
            f"Spreadsheet {key!r} has no worksheet {worksheet!r}; it has: {', '.join(titles)}."
        )
    try:
        response = client.values_get(
            key,
            quote_title(title),
            params={"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "ROWS"},
        )
    except (APIError, requests.RequestException) as error:
        raise describe_failure(error, key, title) from None
    rows: list[list[Any]] = response.get("values", [])
    for row in rows:  # formatted values are text already; convert in place, without a copy
        for index, cell in enumerate(row):
            if not isinstance(cell, str):
                row[index] = str(cell)
    return rows


def write_worksheet(key: str, title: str, rows: list[list[str]], settings: Settings) -> int:
    """Replace a worksheet's values with rows, as literal text (RAW); creates it if missing.

    Costs one metadata read, one write, and one more request the first time (to add the sheet).
    Returns the number of requests made.
    """
    client = sheets_client(settings)
    metadata = fetch_metadata(client, key)
    requests_made = 1
    existing = {
        sheet["properties"]["title"]: sheet["properties"] for sheet in metadata.get("sheets", [])
    }
    width = max((len(row) for row in rows), default=1)
    try:
        if title not in existing:
            client.batch_update(
                key,
                {
                    "requests": [
                        {
                            "addSheet": {
                                "properties": {
                                    "title": title,
                                    "gridProperties": {
                                        "rowCount": max(len(rows), 100),
                                        "columnCount": width,
                                    },
                                }
                            }
                        }
                    ]
                },
            )
            requests_made += 1
            old_rows, old_width = 0, 0
        else:
            grid = existing[title].get("gridProperties", {})
            old_rows, old_width = grid.get("rowCount", 0), grid.get("columnCount", 0)
        full_width = max(width, old_width)
        padded = [row + [""] * (full_width - len(row)) for row in rows]
        padded += [[""] * full_width for _ in range(max(0, old_rows - len(rows)))]
        client.values_batch_update(
            key,
            {
                "valueInputOption": "RAW",
                "data": [{"range": f"{quote_title(title)}!A1", "values": padded}],
            },
        )
        return requests_made + 1
    except (APIError, requests.RequestException) as error:
        raise describe_failure(error, key, title) from None


def write_ranges(
    key: str, worksheet: str | None, data: list[dict[str, Any]], settings: Settings
) -> None:
    """Write several ranges of one worksheet in one values:batchUpdate, as literal text (RAW)."""
    client = sheets_client(settings)
    title = worksheet or worksheet_titles(fetch_metadata(client, key))[0]
    try:
        client.values_batch_update(
            key,
            {
                "valueInputOption": "RAW",
                "data": [
                    {"range": f"{quote_title(title)}!{item['range']}", "values": item["values"]}
                    for item in data
                ],
            },
        )
    except (APIError, requests.RequestException) as error:
        raise describe_failure(error, key, title) from None
