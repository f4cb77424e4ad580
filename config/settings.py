"""Settings from the environment (`KARYASHALA_*`); secrets stay out of YAML and parameters."""

import secrets
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SMTP_RATE_LIMIT = "karyashala-smtp-sends"
SHEETS_RATE_LIMIT = "karyashala-sheets-requests"


class Settings(BaseSettings):
    """Everything that differs between the demo, a test run and a real deployment."""

    model_config = SettingsConfigDict(env_prefix="KARYASHALA_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".karyashala"),
        description="All local state and outputs: the SQLite store, previews, press notes.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; SQLite under the data dir when unset.",
    )
    google_credentials_path: Path | None = Field(
        default=None, description="Service-account JSON file for Google Sheets."
    )
    google_credentials_block: str | None = Field(
        default=None,
        description="Name of a Prefect Secret block holding the service-account JSON.",
    )
    sheets_endpoint: str | None = Field(
        default=None,
        description="Base URL in place of https://sheets.googleapis.com (a proxy, a test server).",
    )
    sheets_timeout_seconds: float = Field(default=30.0, gt=0)
    sheets_max_attempts: int = Field(default=5, ge=1, le=10)
    sheets_backoff_seconds: float = Field(default=1.0, ge=0)
    signing_key: SecretStr | None = Field(
        default=None,
        description="Key that signs answer, opt-out and check-in links; a local one when unset.",
    )
    signing_key_block: str | None = Field(
        default=None, description="Name of a Prefect Secret block holding the signing key."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8750",
        description="Base of the answer, opt-out and check-in links in mails.",
    )
    link_max_age_days: int = Field(
        default=90, ge=1, description="Answer and opt-out links older than this are refused."
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server; unset means the embedded local outbox."
    )
    smtp_port: int | None = None
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_password_block: str | None = Field(
        default=None, description="Name of a Prefect Secret block holding the SMTP password."
    )
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_max_attempts: int = Field(default=4, ge=1, le=10)
    smtp_backoff_seconds: float = Field(default=2.0, ge=0)
    smtp_stall_limit: int = Field(
        default=2,
        ge=1,
        description="Timeouts in a row on fresh connections after which a batch stops.",
    )
    smtp_connections: int = Field(
        default=1,
        ge=1,
        le=16,
        description="SMTP connections a wave sends on at once; 1 suits Gmail and most hosts.",
    )
    smtp_per_minute: int | None = Field(default=None, ge=1, description="Sending rate cap.")
    smtp_per_day: int = Field(
        default=2000, ge=1, description="Daily quota: Gmail allows 500, Workspace 2,000."
    )
    mail_from: str = Field(
        default="karyashala@localhost", description="Sender address of every mail."
    )
    reply_to: str | None = Field(default=None, description="Reply-To; the sender when unset.")
    imap_host: str | None = Field(
        default=None,
        description="IMAP server of the Reply-To mailbox; collect-confirmations reads replies "
        "and bounces there when set.",
    )
    imap_port: int | None = Field(
        default=None, description="IMAP port; 993 for ssl, 143 otherwise, when unset."
    )
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_password_block: str | None = Field(
        default=None, description="Name of a Prefect Secret block holding the IMAP password."
    )
    imap_security: Literal["none", "starttls", "ssl"] = "ssl"
    imap_folder: str = Field(default="INBOX", description="Folder the replies arrive in.")
    imap_timeout_seconds: float = Field(default=30.0, gt=0)
    batch_size: int = Field(default=100, ge=1, le=5000)
    claim_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a claim of a sender on another machine holds without renewal; "
        "a live sender renews it as it goes, and a dead one on this machine is noticed at once.",
    )
    approval_timeout_seconds: int = Field(default=86_400, ge=1)
    work_pool: str = Field(
        default="karyashala", description="The process work pool deployments run on."
    )
    global_limits: bool = Field(
        default=False,
        description="Take every SMTP send and Sheets request from the server's global rate "
        "limits (deployments turn this on; `karyashala deploy` creates the limits).",
    )
    sheets_per_minute: int = Field(
        default=60, ge=1, description="Sheets requests per minute for all runs together."
    )
    month_spelling: Literal["halant", "anusvara"] = Field(
        default="halant",
        # KARYASHALA_PRESS_MONTH_SPELLING is its earlier name, still read.
        validation_alias=AliasChoices(
            "KARYASHALA_MONTH_SPELLING", "KARYASHALA_PRESS_MONTH_SPELLING"
        ),
        description="Hindi month names in mails and press notes: दिसम्बर (halant) or दिसंबर "
        "(anusvara).",
    )
    trusted_proxies: str = Field(
        default="",
        description="Addresses or networks (comma-separated) of the reverse proxies in front of "
        "`karyashala rsvp serve` whose X-Forwarded-For is believed; none when empty.",
    )

    @property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'karyashala.db').resolve()}"

    def signing_secret(self) -> str:
        """The configured key, or one made once for this data dir (local use only)."""
        if self.signing_key is not None:
            return self.signing_key.get_secret_value()
        if self.signing_key_block:
            return str(secret_block_value(self.signing_key_block))
        path = self.data_dir / "signing.key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()

    def event_output_dir(self, event_id: str) -> Path:
        """Where files made for one event go (problem lists, previews, press notes)."""
        path = self.data_dir / "events" / event_id
        path.mkdir(parents=True, exist_ok=True)
        return path


@cache
def secret_block_value(name: str) -> Any:
    """The value of a Prefect Secret block (created by `karyashala secrets create`), read once
    per process: the web app signs and checks links on every request."""
    from prefect.blocks.system import Secret

    return Secret.load(name).get()  # type: ignore[union-attr]


def load_settings() -> Settings:
    """Read the settings afresh, so a changed environment takes effect in the same process.

    A value that cannot be used is a SettingsError naming its variable. Every entry point reads
    the settings before it writes anything, so this is where the process's files become
    private (umask 077: files 0600, folders 0700): the data dir holds the store, Prefect's home,
    previews, problem lists and press drafts, all with people's data in them.
    """
    import os

    from pydantic import ValidationError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from config.errors import SettingsError

    os.umask(0o077)
    try:
        settings = Settings()
    except ValidationError as error:
        raise SettingsError.of(error) from None
    if settings.database_url:
        # Only the part before :// is repeated: the rest may hold a password.
        fix = (
            "write it as postgresql+psycopg://USER@HOST/DATABASE or sqlite:///PATH, or unset it "
            "for SQLite in the data dir"
        )
        try:
            url = make_url(settings.database_url)
        except ArgumentError:
            raise SettingsError(f"KARYASHALA_DATABASE_URL is not a URL: {fix}.") from None
        try:
            dialect = url.get_dialect()
        except ArgumentError:
            raise SettingsError(
                f"KARYASHALA_DATABASE_URL names a kind of database not known here "
                f"({url.drivername!r}): {fix}."
            ) from None
        try:
            dialect.import_dbapi()
        except ImportError:
            raise SettingsError(
                f"KARYASHALA_DATABASE_URL needs a driver that is not installed "
                f"({url.drivername!r}): {fix}."
            ) from None
    try:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(
            f"KARYASHALA_DATA_DIR: cannot create the folder {settings.data_dir} "
            f"({error.strerror}): set it to a folder this user can write."
        ) from None
    return settings
