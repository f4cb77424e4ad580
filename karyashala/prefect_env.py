"""Prefect defaults for every command: no telemetry, state under the data dir."""

import os

from config.settings import load_settings


def apply_prefect_defaults() -> None:
    """Set before Prefect is imported; an operator's own PREFECT_* settings win."""
    settings = load_settings()
    defaults = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_HOME": str((settings.data_dir / "prefect").resolve()),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
