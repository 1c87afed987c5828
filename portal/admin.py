"""Admin of the portal: enquiries are listed to administrators until the auditors' dashboard
answers them; cards, mandates and subscriptions are read-only (changed only by services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from portal.models import Card, Enquiry, MailSubscription, ProxyMandate


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Enquiry)
class EnquiryAdmin(ReadOnly):
    list_display = ("public_id", "status", "created_at", "intake_id", "answered_at")
    list_filter = ("status",)
    ordering = ("-created_at",)


@admin.register(Card)
class CardAdmin(ReadOnly):
    # The PIN hash is never shown; the serial is.
    list_display = ("serial", "issued_at", "locked_at", "revoked_at")
    exclude = ("pin_hash",)


@admin.register(ProxyMandate)
class ProxyMandateAdmin(ReadOnly):
    list_display = ("public_id", "status", "created_at", "accepted_at", "ended_at", "ended_by")
    exclude = ("code_hash",)


@admin.register(MailSubscription)
class MailSubscriptionAdmin(ReadOnly):
    list_display = ("pk", "confirmed_at", "new_records", "last_mailed_at")
    exclude = ("token_hash",)
