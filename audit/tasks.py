"""Celery tasks of the audit app: thin wrappers around services, safe to run again."""

from __future__ import annotations

import logging
from pathlib import Path

from celery import shared_task
from django.conf import settings

from audit.tlog.errors import TlogError
from audit.witnessing import witness_run

logger = logging.getLogger("audit.tasks")


@shared_task(name="audit.witness_cosign")
def witness_cosign_task() -> int | None:
    """The demo's local witness cosigns the latest checkpoint (beat, every minute).

    Returns the size it cosigned, or None when it refused (the refusal is logged: a log that
    forked or rolled back must be noticed, not retried into silence).
    """
    try:
        return witness_run(directory=Path(settings.WITNESS_DIR)).size
    except TlogError as exc:
        logger.error("witness refused to cosign: %s", exc)
        return None
