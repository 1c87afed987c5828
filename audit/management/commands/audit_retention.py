"""Report which ledger entries have fallen out of the retention period (nothing is changed)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Count, Max, Min

from audit.ledger import retention_cutoff
from audit.models import LedgerEntry


class Command(BaseCommand):
    help = (
        "Report the entries recorded before the retention cutoff (AUDIT_RETENTION_DAYS). They "
        "are served to nobody but stay in the Merkle tree, so every proof for later entries "
        "still verifies. Nothing is deleted or rewritten."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = retention_cutoff()
        expired = LedgerEntry.objects.filter(intake__created_at__lt=cutoff).aggregate(
            n=Count("seq"),
            first=Min("seq"),
            last=Max("seq"),
            oldest=Min("intake__created_at"),
            newest=Max("intake__created_at"),
        )
        self.stdout.write(
            f"retention: {settings.AUDIT_RETENTION_DAYS} days; cutoff {cutoff.isoformat()}"
        )
        if not expired["n"]:
            self.stdout.write("no entry has fallen out of retention")
            return
        self.stdout.write(
            f"{expired['n']} entries past retention (seq {expired['first']}..{expired['last']}, "
            f"recorded {expired['oldest'].isoformat()} .. {expired['newest'].isoformat()}); "
            "no longer served, still in the tree"
        )
