"""The error hierarchy. Every expected failure is a PulseError whose message names the bad value.

The CLI prints ``str(error)`` on one line and exits non-zero; the web layer maps each class to a
status code in one place (``pulse.web.errors``). Anything that is not a PulseError is a bug.
"""

from __future__ import annotations

from pulse.domain.wording import N_, Count


class PulseError(Exception):
    """Base of every error Pulse expects and explains to its user.

    Its message is English text, or a ``pulse.domain.wording.Text`` (English too, for the CLI and logs)
    that pages translate into their reader's language (``message``, ``pulse.i18n.localize``).
    """

    #: HTTP status the web layer answers with; a stable machine-readable code for the JSON API.
    status_code: int = 400
    code: str = "invalid"

    @property
    def message(self) -> str:
        """The message as raised (a ``Text`` keeps what it takes to translate it); ``str(error)`` is English."""
        first = self.args[0] if self.args else None
        return first if isinstance(first, str) else str(self)


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


#: Error listings (CLI, web page, API JSON) show this many problems, then how many more there were: a
#: file of 400,000 bad rows once made a 30 MB JSON answer and a 38 MB page.
MAX_LISTED_PROBLEMS = 100


class ImportRejected(InvalidInput):
    """A people import was refused as a whole.

    ``problems`` holds the first ``MAX_LISTED_PROBLEMS`` problems, by row; ``more`` counts the others.
    ``listing`` is what people read: the problems, then "and 41,230 more" when there are more. The
    summary and the problems are ``Text`` when the service worded them so, for pages to translate.
    """

    code = "import_rejected"

    def __init__(self, message: str, problems: list[str] | None = None, *, more: int = 0) -> None:
        given = list(problems or [])
        self.problems = given[:MAX_LISTED_PROBLEMS]
        self.more = more + len(given) - len(self.problems)
        self.summary = message
        listing = self.listing
        super().__init__(message if not listing else message + "\n" + "\n".join(listing))

    @property
    def listing(self) -> list[str]:
        return self.problems + ([N_("and %(count)s more", count=Count(self.more))] if self.more else [])

    @property
    def message(self) -> str:
        return self.summary


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
