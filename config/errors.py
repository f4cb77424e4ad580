"""Errors an operator sees: each says what is wrong, where, and what to do."""


class KaryashalaError(Exception):
    """An error meant for the operator; the CLI prints it without a traceback."""


class EventConfigError(KaryashalaError):
    """An event YAML file is missing, unreadable or does not fit the event model."""


class RosterSourceError(KaryashalaError):
    """The roster cannot be read: a missing file, a missing column, an unreachable sheet."""
