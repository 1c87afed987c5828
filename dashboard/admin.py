"""Admin of the dashboard: privacy officers are appointed and ended here, through the services
(so that each change is a ledger entry); the index, runs, refusals and reveals are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.admin import ReadOnlyAdmin
from dashboard.models import (
    IdentityReveal,
    VerificationRun,
    WitnessRefusalRecord,
)
from dashboard.services import privacy_officer_appoint, privacy_officer_end
from detection.models import PrivacyOfficer


@admin.register(PrivacyOfficer)
class PrivacyOfficerAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "language", "appointed_at", "ended_at")
    list_filter = ("ended_at", "language")
    fields = ("user", "organization", "language")
    actions = ["end_roles"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Through the service: the appointment is a ledger entry.
        saved = privacy_officer_appoint(
            actor=request.user, user=obj.user, organization=obj.organization, language=obj.language
        )
        obj.pk = saved.pk
        obj.appointed_at = saved.appointed_at

    @admin.action(description=_("End the selected roles"))
    def end_roles(self, request: HttpRequest, queryset: QuerySet[PrivacyOfficer]) -> None:
        for officer in queryset.filter(ended_at__isnull=True):
            privacy_officer_end(actor=request.user, officer=officer)
        messages.success(request, _("Ended."))


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "status", "requested_at", "started_at", "finished_at", "size")
    list_filter = ("status",)


@admin.register(WitnessRefusalRecord)
class WitnessRefusalAdmin(ReadOnlyAdmin):
    list_display = ("witness", "size", "occurred_at")


@admin.register(IdentityReveal)
class IdentityRevealAdmin(ReadOnlyAdmin):
    list_display = ("revealed_at", "officer", "organization", "staff", "reason")
