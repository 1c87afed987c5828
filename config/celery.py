"""The Celery application; tasks live in each app's tasks.py and take ids, not objects."""

import logging
import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("yaritori")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def mask_secrets_in_worker_logs(logger: logging.Logger, **kwargs: Any) -> None:
    """A worker replaces the handlers of LOGGING with its own: give those the masking filter
    too (config.security.MaskingLogFilter), so no worker log line shows a My Number."""
    from config.security import MaskingLogFilter

    for handler in logger.handlers:
        if not any(isinstance(f, MaskingLogFilter) for f in handler.filters):
            handler.addFilter(MaskingLogFilter())
