"""Signal receivers of the dashboard, connected at start (DashboardConfig.ready)."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from audit.signals import witness_refused

log = logging.getLogger(__name__)


@receiver(witness_refused, dispatch_uid="dashboard-witness-refused")
def on_witness_refused(
    sender: Any, *, witness: str, size: int | None, reason: str, **kwargs: Any
) -> None:
    """Record the refusal and mail the auditors. A failure here must not hide the refusal
    itself from whoever runs the witness: it is logged, and the witness raises anyway."""
    from dashboard.services import witness_refusal_record

    try:
        witness_refusal_record(witness=witness, size=size, reason=reason)
    except Exception:
        log.exception("could not record the refusal of witness %s", witness)
