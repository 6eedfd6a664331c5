"""Domain errors: each carries a message fit to show a user as-is.

Front ends (the Slack error handler, the CLI) map these to a reply; anything else is an
unexpected error that is logged with a reference id.
"""

from __future__ import annotations


class CspmError(Exception):
    """Base for errors whose message is safe and useful to show the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(CspmError):
    """Bad user input. `fields` maps a form field name to its specific message."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})


class UsageError(InputError):
    """A command could not be understood; `suggestions` are the closest real words."""

    def __init__(self, problem: str, suggestions: list[str] | None = None) -> None:
        super().__init__(problem)
        self.suggestions = list(suggestions or [])


class NotFoundError(CspmError):
    """A named project, scan or connector does not exist.

    `suggestions` holds the closest real names, for "did you mean" replies.
    """

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.suggestions = list(suggestions or [])


class ConflictError(CspmError):
    """The request conflicts with the current state (e.g. a scan is already running)."""


class PermissionDeniedError(CspmError):
    """The caller may not do this (Slack roles)."""


class ValidationFailedError(CspmError):
    """Credentials were rejected by the cloud; carries the classified error."""

    def __init__(self, message: str, error: object | None = None) -> None:
        super().__init__(message)
        self.error = error


class OverloadedError(CspmError):
    """The bot took the request but has no room to do it now; nothing was done."""

    def __init__(self) -> None:
        super().__init__(
            "The bot is overloaded right now and could not take this request; nothing was "
            "done. Please try again in a minute."
        )


class DatabaseUnavailableError(CspmError):
    """The database cannot be used right now (read-only, disk full, locked, unreachable):
    the message names the database and what to do; nothing was changed.

    `transient` is True when waiting is the fix (a lock held by another process, a server
    down or restarting): work in progress tries again until the database is back."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
