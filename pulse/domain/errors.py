"""Domain errors: raised by the pure engine when it is given input it must refuse."""

from __future__ import annotations


class DomainError(ValueError):
    """Base of every error the measurement engine raises; the message names the bad value."""


class InvalidAnswer(DomainError):
    """An answer is outside the scale or names an item that does not exist."""


class InvalidPulseSize(DomainError):
    """A pulse cannot be composed with the requested round number or size."""


class MinGroupSizeTooSmall(DomainError):
    """The minimum group size is below the floor that keeps answers anonymous."""


class InconsistentAggregates(DomainError):
    """Aggregates contradict each other (for example more responses than invitations)."""
