"""The sequencer's loop, shared by the ledger_sequencer command and the benchmarks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

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
    """
    result: IntegrationResult | None = None
    while not stop(result):
        started = time.monotonic()
        try:
            result = ledger_integrate(max_batch=batch)
        except DatabaseError:
            # A dropped connection must not kill the sequencer: entries wait in intake.
            logger.exception("integration failed; retrying")
            close_old_connections()
            time.sleep(1)
            continue
        if result.integrated:
            logger.debug("integrated %d entries; log size %d", result.integrated, result.size)
        if result.integrated < batch:
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
