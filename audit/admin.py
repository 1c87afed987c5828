"""Read-only admin views of the ledger: the tables are append-only, so nothing here may add,
change or delete a row (the database would refuse anyway). MerkleSubtree is not listed: its
key is (level, index), which the admin cannot show, and its hashes mean nothing to a person;
audit_verify checks them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit import models


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete: the ledger is written by its services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.LedgerIntake)
class LedgerIntakeAdmin(ReadOnlyAdmin):
    list_display = ["id", "event_type", "subject", "created_at"]
    list_filter = ["event_type"]
    search_fields = ["subject"]


@admin.register(models.LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "intake", "integrated_at"]
    list_select_related = ["intake"]


@admin.register(models.Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["size", "signed_at"]


@admin.register(models.WitnessCosignature)
class WitnessCosignatureAdmin(ReadOnlyAdmin):
    list_display = ["checkpoint", "witness", "key_id", "timestamp"]
