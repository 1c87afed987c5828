"""The log level named by LOG_LEVEL, checked before the logging configuration sees it.

Imports nothing that reads the settings: config/settings.py calls it while they are being read.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

# The names Python's logging accepts, spelled as operators write them. WARN and FATAL are
# logging's own aliases of WARNING and CRITICAL.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL")


def log_level(value: str) -> str:
    """The logging level name for LOG_LEVEL in any case (``info``, ``Info``, ``INFO``).

    Raises ImproperlyConfigured with a one-line message naming the accepted levels when the
    value is not one of them: logging itself would only fail later, inside every worker, with
    a traceback that does not say which setting was wrong.
    """
    name = value.strip().upper()
    if name not in LOG_LEVELS:
        raise ImproperlyConfigured(
            f"LOG_LEVEL={value!r} is not a log level; use one of DEBUG, INFO, WARNING, "
            "ERROR or CRITICAL (any case)."
        )
    return name
