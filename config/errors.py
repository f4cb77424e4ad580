"""Errors an operator sees: each says what is wrong, where, and what to do."""

from pydantic import ValidationError

ENV_PREFIX = "KARYASHALA_"


class KaryashalaError(Exception):
    """An error meant for the operator; the CLI prints it without a traceback."""


class EventConfigError(KaryashalaError):
    """An event YAML file is missing, unreadable or does not fit the event model."""


class RosterSourceError(KaryashalaError):
    """The roster cannot be read: a missing file, a missing column, an unreachable sheet."""


class SettingsError(KaryashalaError):
    """A KARYASHALA_* environment variable holds a value that cannot be used."""

    @classmethod
    def of(cls, error: ValidationError) -> "SettingsError":
        """One line naming each variable and what it needs; never the value (it may be secret)."""
        problems = "; ".join(
            f"{ENV_PREFIX}{name.removeprefix(ENV_PREFIX)}: {item['msg']}"  # an alias is whole
            for item in error.errors()
            for name in ["_".join(str(part) for part in item["loc"]).upper()]
        )
        return cls(f"{problems}. Fix or unset it (the README's Settings table lists each one).")
