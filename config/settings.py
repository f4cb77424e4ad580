"""Settings from the environment (`KARYASHALA_*`); secrets stay out of YAML and parameters."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        default=None, description="Key that signs answer and check-in links."
    )

    @property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'karyashala.db').resolve()}"

    def event_output_dir(self, event_id: str) -> Path:
        """Where files made for one event go (problem lists, previews, press notes)."""
        path = self.data_dir / "events" / event_id
        path.mkdir(parents=True, exist_ok=True)
        return path


def load_settings() -> Settings:
    """Read the settings afresh, so a changed environment takes effect in the same process."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
