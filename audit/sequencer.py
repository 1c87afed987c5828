"""The sequencer's loop, shared by the ledger_sequencer command and the benchmarks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from audit.ledger import IntegrationResult, ledger_integrate

logger = logging.getLogger("audit.sequencer")


def sequencer_loop(
    *, interval: float, batch: int, stop: Callable[[IntegrationResult | None], bool]
) -> None:
    """Integrate pending entries every `interval` seconds until stop(last result) is true.

    Integrating at a steady pace rather than as fast as possible keeps batches large, so the
    cost of signing and checking a checkpoint is shared by many entries and the writers keep
    the CPU; a full batch means a backlog, and the next one starts at once. The integration
    delay is therefore about `interval` plus one batch's work.

    Logs its start and stop (INFO), each checkpoint it signs (DEBUG), and every failure: the
    first of an outage at ERROR (which reaches ADMINS by mail), each retry after it at
    WARNING, and the recovery at INFO, so that a database down for an hour sends one mail,
    not 3,600.
    """
    logger.info(
        "sequencer started: log %s, every %.1f s, batches of at most %d",
        settings.AUDIT_LOG_ORIGIN,
        interval,
        batch,
    )
    result: IntegrationResult | None = None
    failing_since: float | None = None
    failures = 0
    try:
        while not stop(result):
            started = time.monotonic()
            try:
                result = ledger_integrate(max_batch=batch)
            except DatabaseError:
                # A dropped connection must not kill the sequencer: entries wait in intake.
                failures += 1
                if failing_since is None:
                    failing_since = started
                    logger.exception("integration failed; retrying every second")
                else:
                    logger.warning(
                        "integration failed again (%d in a row)", failures, exc_info=True
                    )
                close_old_connections()
                time.sleep(1)
                continue
            if failing_since is not None:
                logger.info(
                    "integration works again after %d failures in %.0f s",
                    failures,
                    time.monotonic() - failing_since,
                )
                failing_since, failures = None, 0
            if result.checkpoint is not None:
                logger.debug(
                    "integrated %d entries; checkpoint of size %d signed",
                    result.integrated,
                    result.size,
                )
            if result.integrated < batch:
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except Exception:
        logger.exception("sequencer stopped by an unexpected error")
        raise
    logger.info("sequencer stopped; log size %s", "unknown" if result is None else result.size)
