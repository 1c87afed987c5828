"""Log records as one JSON object per line (production) or as readable text (`make run`), with
the request id and the Celery task id on every record they belong to.

LOG_FORMAT=json|text picks the formatter (config/settings.py; json unless said otherwise,
`make run` says text). A JSON line carries:

    {"time": "2026-03-02T00:00:00.123Z", "level": "WARNING", "logger": "yaritori.security",
     "message": "...", "request_id": "3f2a...", "task_id": null, "process": 4711}

plus "exception" (the traceback) and "stack" when the record has them. Times are UTC with a
Z, whatever TIME_ZONE says, so lines from every process and host sort together. Masking of
My Numbers, keys and credentials is not done here: config.security.MaskingLogFilter sits on
every handler and has rewritten the message and traceback before this formatter sees them.

The request id comes from nginx (X-Request-ID, set to nginx's $request_id, which nginx also
writes to its access log) or is generated per request, and goes back to the client in the
X-Request-ID response header, so one id finds a request in nginx's log, gunicorn's and the
application's. Imported while logging is configured: nothing here imports a model.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the settings import this module: no Django import at run time
    from django.http import HttpRequest, HttpResponseBase

REQUEST_ID_HEADER = "X-Request-ID"
# What an id from outside may look like: nginx's $request_id is 32 hex digits; a UUID, or any
# token of these characters, is accepted too. Anything else (too long, spaces, quotes, line
# breaks that would forge log lines) is replaced by a fresh id.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "yaritori_request_id", default=None
)


def current_request_id() -> str | None:
    """The id of the request being answered in this thread or task, if any."""
    return _request_id.get()


class RequestIdMiddleware:
    """Gives each request an id (nginx's X-Request-ID when it is well formed, else a new
    one), makes it available to every log record written while the request is answered, and
    returns it in the X-Request-ID response header. Goes first in MIDDLEWARE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _VALID_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _current_task_id() -> str | None:
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a dependency
        return None
    task = current_task
    if not task:
        return None
    task_id = getattr(task.request, "id", None)
    return str(task_id) if task_id else None


class RequestContextFilter(logging.Filter):
    """A handler filter that puts request_id and task_id on every record (None outside a
    request or a task), for the formatters below. It never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        if not hasattr(record, "task_id"):
            record.task_id = _current_task_id()
        return True


def utc_timestamp(created: float) -> str:
    """A record's time as ISO 8601 in UTC with milliseconds and a Z: 2026-03-02T00:00:00.123Z."""
    moment = dt.datetime.fromtimestamp(created, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module's doc)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "task_id": getattr(record, "task_id", None),
            "process": record.process,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # Japanese stays readable; json.dumps escapes every line break, so a record is one line.
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal (`make run`): local time, level, logger, the request or
    task id when there is one, and the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = (getattr(record, "request_id", None), getattr(record, "task_id", None))
        record.context = "".join(f" [{i}]" for i in ids if i)
        return super().format(record)


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


def log_formatter(value: str) -> str:
    """The dotted path of the formatter class for LOG_FORMAT (json or text, any case).

    Raises ImproperlyConfigured naming the setting for anything else."""
    from django.core.exceptions import ImproperlyConfigured

    name = value.strip().lower()
    if name not in FORMATTERS:
        raise ImproperlyConfigured(f"LOG_FORMAT={value!r} is not a log format; use json or text.")
    return f"{__name__}.{FORMATTERS[name].__name__}"
