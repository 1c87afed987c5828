"""Detection in the admin, read-only: alerts are triaged, rules set and the watchlist kept on
the auditors' dashboard (/audit/alerts/, /audit/alerts/rules/, /audit/alerts/watchlist/),
where every change goes through detection.services and is recorded in the ledger. The admin
only lists these rows and points there.

Alerts about persons protected from disclosure (restricted) are listed only for users with
the detection.view_restricted_alert permission (the national auditors).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit.admin import ReadOnlyAdmin
from detection.models import Alert, AlertEntry, AlertNote, RuleSetting, WatchlistEntry
from detection.rules import RULES

RESTRICTED_PERMISSION = "detection.view_restricted_alert"


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AlertEntryInline(_ReadOnlyInline):
    model = AlertEntry
    fields = ("seq", "at", "linked_at")
    readonly_fields = fields
    ordering = ["seq"]


class AlertNoteInline(_ReadOnlyInline):
    model = AlertNote
    fields = ("created_at", "author", "text")
    readonly_fields = fields


class _ReadOnlyAdmin(ReadOnlyAdmin):
    """Lists and shows rows, changes none; says where the change is made instead."""

    dashboard_url = "/audit/"
    dashboard_text: str | Promise = ""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        messages.info(request, f"{self.dashboard_text}: {self.dashboard_url}")
        return super().changelist_view(request, extra_context)


@admin.register(Alert)
class AlertAdmin(_ReadOnlyAdmin):
    dashboard_url = "/audit/alerts/"
    dashboard_text = _("Alerts are triaged on the dashboard")
    list_display = [
        "id",
        "rule",
        "severity",
        "status",
        "organization",
        "staff_pseudonym",
        "subject",
        "entry_count",
        "day",
        "created_at",
        "assignee",
    ]
    list_filter = ["status", "severity", "family", "rule", "restricted"]
    search_fields = ["staff_pseudonym", "subject", "rule"]
    readonly_fields = [
        "rule",
        "explanation",
        "family",
        "severity",
        "status",
        "dismiss_reason",
        "assignee",
        "organization",
        "staff_pseudonym",
        "subject",
        "restricted",
        "day",
        "first_at",
        "last_at",
        "entry_count",
        "created_at",
        "updated_at",
    ]
    exclude = ["staff", "dedupe_key"]
    inlines = [AlertNoteInline, AlertEntryInline]

    @admin.display(description=_("Explanation"))
    def explanation(self, obj: Alert) -> str:
        rule = RULES[obj.rule]
        return f"{rule.title_ja}: {rule.explanation_ja} / {rule.title_en}: {rule.explanation_en}"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        qs = super().get_queryset(request).select_related("organization", "assignee")
        if not request.user.has_perm(RESTRICTED_PERMISSION):
            qs = qs.filter(restricted=False)
        return qs


@admin.register(RuleSetting)
class RuleSettingAdmin(_ReadOnlyAdmin):
    dashboard_url = "/audit/alerts/rules/"
    dashboard_text = _("Rules are set on the dashboard")
    list_display = ["code", "title", "enabled", "params", "changed_at"]
    readonly_fields = ["code", "title", "enabled", "params", "changed_at", "changed_by"]

    @admin.display(description=_("Rule"))
    def title(self, obj: RuleSetting) -> str:
        rule = RULES.get(obj.code)
        return f"{rule.title_ja} ({rule.title_en})" if rule else "-"


@admin.register(WatchlistEntry)
class WatchlistEntryAdmin(_ReadOnlyAdmin):
    dashboard_url = "/audit/alerts/watchlist/"
    dashboard_text = _("The watchlist is kept on the dashboard")
    list_display = ["subject", "reason", "added_at", "removed_at"]
    list_filter = ["reason"]
    # The person by subject pseudonym only, as the ledger and the dashboard name them.
    exclude = ["person"]
    readonly_fields = ["subject", "reason", "added_at", "added_by", "removed_at", "removed_by"]
