"""Secrets as Prefect Secret blocks, made from environment variables or files, never shown."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from config.errors import KaryashalaError


@dataclass(frozen=True)
class SecretSource:
    block: str
    env: str
    setting: str
    is_file: bool = False


SOURCES = (
    SecretSource(
        "karyashala-smtp-password", "KARYASHALA_SMTP_PASSWORD", "KARYASHALA_SMTP_PASSWORD_BLOCK"
    ),
    SecretSource(
        "karyashala-google-service-account",
        "KARYASHALA_GOOGLE_CREDENTIALS_PATH",
        "KARYASHALA_GOOGLE_CREDENTIALS_BLOCK",
        is_file=True,
    ),
    SecretSource(
        "karyashala-signing-key", "KARYASHALA_SIGNING_KEY", "KARYASHALA_SIGNING_KEY_BLOCK"
    ),
    SecretSource(
        "karyashala-imap-password", "KARYASHALA_IMAP_PASSWORD", "KARYASHALA_IMAP_PASSWORD_BLOCK"
    ),
)


def secret_value(source: SecretSource, raw: str) -> str | dict[str, object]:
    if not source.is_file:
        return raw
    path = Path(raw)
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise KaryashalaError(
            f"{source.env} names {path}, which is not a readable JSON file "
            f"({type(error).__name__}); nothing was saved for {source.block}."
        ) from None


def save_secrets(environ: dict[str, str] | None = None) -> list[SecretSource]:
    """A Secret block for each source set in the environment; returns what was saved."""
    environ = dict(os.environ) if environ is None else environ
    saved = []
    for source in SOURCES:
        raw = environ.get(source.env)
        if not raw:
            continue
        Secret(value=secret_value(source, raw)).save(source.block, overwrite=True)
        saved.append(source)
    return saved


def existing_secret_settings() -> dict[str, str]:
    """KARYASHALA_*_BLOCK settings for the blocks on the server, for the deployments' runs."""
    found = {}
    with get_client(sync_client=True) as client:
        for source in SOURCES:
            try:
                client.read_block_document_by_name(source.block, block_type_slug="secret")
            except ObjectNotFound:
                continue
            found[source.setting] = source.block
    return found
