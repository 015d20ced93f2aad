"""One exception hierarchy; the CLI's single handler maps it to exit codes.

Exit codes: 0 ok, 1 lint errors or items failed, 2 usage or configuration error, 3 internal error,
130 interrupted.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class TrackerError(Exception):
    """Base of every error the tool expects and explains."""

    exit_code = EXIT_FAILED


class ConfigError(TrackerError):
    """The configuration file or the command line is wrong; the message names the fix."""

    exit_code = EXIT_USAGE


class ParseError(TrackerError):
    """A postmortem could not be read at all (the parser itself never raises on content)."""


class WriteBackError(TrackerError):
    """A ticket reference could not be written into a postmortem file."""


class BackendError(TrackerError):
    """A tracker backend (local, GitHub, Jira) failed."""


class AuthError(BackendError):
    """The backend rejected the credentials."""


class NotFound(BackendError):
    """The repository, project or ticket does not exist (or is hidden from the token)."""


class PermissionDenied(BackendError):
    """The credentials are valid but may not do this."""


class RateLimited(BackendError):
    """The backend asked us to wait longer than the configured limit allows."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Conflict(BackendError):
    """The backend state contradicts what the tool expected (e.g. a ticket without our marker)."""


class OutcomeUnknown(BackendError):
    """A write was sent but its answer was lost: it may or may not have happened."""


class ValidationFailed(BackendError):
    """The backend refused the data (GitHub 422, Jira 400) with field errors."""


class DeliveryError(TrackerError):
    """A chat or mail delivery (Slack, Teams, SMTP) failed; what it carried is kept elsewhere."""
