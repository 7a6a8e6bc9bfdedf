"""The one source of "now" (UTC, aware). Tests that control time patch ``pulse.clock.now``."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
