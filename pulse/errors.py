"""The error hierarchy. Every expected failure is a PulseError whose message names the bad value.

The CLI prints ``str(error)`` on one line and exits non-zero; the web layer maps each class to a
status code in one place (``pulse.web.errors``). Anything that is not a PulseError is a bug.
"""

from __future__ import annotations


class PulseError(Exception):
    """Base of every error Pulse expects and explains to its user."""

    #: HTTP status the web layer answers with; a stable machine-readable code for the JSON API.
    status_code: int = 400
    code: str = "invalid"


class ConfigurationError(PulseError):
    """A PULSE_* variable has a value Pulse cannot use."""

    code = "configuration"


class NotFound(PulseError):
    status_code = 404
    code = "not_found"


class Conflict(PulseError):
    status_code = 409
    code = "conflict"


class InvalidInput(PulseError):
    """A value given by a user (CLI argument, form field, API body) is not acceptable."""

    status_code = 422
    code = "invalid_input"


class ImportRejected(InvalidInput):
    """A people import was refused as a whole; ``problems`` lists every bad row."""

    code = "import_rejected"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        detail = message if not self.problems else message + "\n" + "\n".join(self.problems)
        super().__init__(detail)
        self.summary = message


class SurveyClosed(PulseError):
    status_code = 410
    code = "survey_closed"


class LinkAlreadyUsed(PulseError):
    status_code = 409
    code = "link_already_used"


class UnknownLink(PulseError):
    status_code = 404
    code = "unknown_link"


class PermissionDenied(PulseError):
    status_code = 403
    code = "forbidden"


class NotAuthenticated(PulseError):
    status_code = 401
    code = "unauthenticated"


class Throttled(PulseError):
    status_code = 429
    code = "throttled"
