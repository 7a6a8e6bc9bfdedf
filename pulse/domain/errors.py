"""Domain errors: raised by the pure engine when it is given input it must refuse.

They are `PulseError`s, so the CLI and the web layer report them like any other expected failure,
and `ValueError`s, because every one of them is a bad value.
"""

from __future__ import annotations

from pulse.errors import PulseError


class DomainError(PulseError, ValueError):
    """Base of every error the measurement engine raises; the message names the bad value."""

    status_code = 422
    code = "invalid_input"


class InvalidAnswer(DomainError):
    """An answer is outside the scale or names an item that does not exist."""


class InvalidPulseSize(DomainError):
    """A pulse cannot be composed with the requested round number or size."""


class MinGroupSizeTooSmall(DomainError):
    """The minimum group size is below the floor that keeps answers anonymous."""


class InconsistentAggregates(DomainError):
    """Aggregates contradict each other (for example more responses than invitations)."""

    status_code = 500
    code = "inconsistent_aggregates"
