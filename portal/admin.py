"""Admin of the portal: enquiries are listed to administrators until the auditors' dashboard
answers them; cards, mandates and subscriptions are read-only (changed only by services)."""

from __future__ import annotations

from django.contrib import admin

from audit.admin import ReadOnlyAdmin
from portal.models import Card, Enquiry, MailSubscription, ProxyMandate


@admin.register(Enquiry)
class EnquiryAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "status", "created_at", "intake_id", "answered_at")
    list_filter = ("status",)
    ordering = ("-created_at",)


@admin.register(Card)
class CardAdmin(ReadOnlyAdmin):
    # The PIN hash is never shown; the serial is.
    list_display = ("serial", "issued_at", "locked_at", "revoked_at")
    exclude = ("pin_hash",)


@admin.register(ProxyMandate)
class ProxyMandateAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "status", "created_at", "accepted_at", "ended_at", "ended_by")
    exclude = ("code_hash",)


@admin.register(MailSubscription)
class MailSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("pk", "confirmed_at", "new_records", "last_mailed_at")
    exclude = ("token_hash",)
