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
import re
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


_SURVEY_PATH = re.compile(r"/s/[^/?\s]+")


def redact_survey_path(path: str) -> str:
    """A survey link's token is a credential tied to one person: never write it to a log."""
    return _SURVEY_PATH.sub(lambda m: m.group(0) if m.group(0) == "/s/thanks" else "/s/[link]", path)


class SurveyAccessFilter(logging.Filter):
    """Drops the token and the client address from access-log lines of survey pages.

    uvicorn's access record args are (client address, method, path, HTTP version, status). A line
    "203.0.113.7 POST /s/<token> 303" at 09:14 would tie an answer's moment and a device to a person.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and args[2].startswith("/s/"):
            record.args = ("-", args[1], redact_survey_path(args[2]), args[3], args[4])
        return True


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
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, SurveyAccessFilter) for existing in access.filters):
        access.addFilter(SurveyAccessFilter())
    # Tortoise logs every SQL statement at DEBUG, WeasyPrint every layout step at INFO, fontTools its
    # subsetting: noise even when debugging Pulse.
    quiet = max(logging.INFO, logging.getLevelName(settings.log_level))
    logging.getLogger("tortoise").setLevel(quiet)
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(max(logging.WARNING, quiet))
