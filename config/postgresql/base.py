"""Django's PostgreSQL backend with a health check that costs no round trip.

With persistent connections (CONN_MAX_AGE) Django checks, before a request's first query,
that the connection still works (CONN_HEALTH_CHECKS), by sending SELECT 1: on the linkage
path that was one of nine round trips to the server per request. An idle connection to a
healthy server receives nothing, while a server that restarts, fails over or drops an idle
client closes the socket or writes an error to it. So a glance at the socket tells a healthy
idle connection apart; only when something is waiting there does the round trip follow.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        """False for a connection that is gone or that the server has written to unasked
        (hung up, or an error before closing) and that fails SELECT 1; True otherwise."""
        raw = self.connection
        if raw is None or raw.closed or raw.broken:
            return False
        # poll, not select: select() refuses descriptors above 1024, which a busy process has.
        poller = select.poll()
        try:
            poller.register(raw.fileno(), select.POLLIN)
        except (OSError, ValueError):  # the socket is gone
            return False
        if not poller.poll(0):
            return True
        return bool(super().is_usable())
