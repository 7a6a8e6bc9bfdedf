"""Structured logs: one JSON object per line on stderr, for `pulse worker` and `pulse serve`.

Fields passed with ``extra=`` become keys of the object, so a job's log line reads::

    {"time": "2026-03-02T08:00:00.012Z", "level": "INFO", "logger": "pulse.jobs", "message": "job done",
     "job": "send_invitations", "job_id": "invite:12", "try": 1, "round_id": 12, "seconds": 0.412,
     "outcome": "ok"}

Log processors (Loki, CloudWatch, jq) read that without parsing free text.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from pulse.settings import Settings

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
#: uvicorn's color_message is the message again with terminal colour codes.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, the extras, and the error."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        data: dict[str, Any] = {
            "time": moment.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def setup(settings: Settings, stream: IO[str] | None = None) -> None:
    """Send every log line (Pulse's, arq's, uvicorn's) through the JSON formatter at the configured level."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # These libraries install their own handlers; route them through the root one instead.
    for name in ("arq", "arq.worker", "uvicorn", "uvicorn.error", "uvicorn.access"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    # Tortoise logs every SQL statement at DEBUG, WeasyPrint every layout step at INFO, fontTools its
    # subsetting: noise even when debugging Pulse.
    quiet = max(logging.INFO, logging.getLevelName(settings.log_level))
    logging.getLogger("tortoise").setLevel(quiet)
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(max(logging.WARNING, quiet))
