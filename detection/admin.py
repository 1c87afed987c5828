"""Detection in the admin, until the auditors' dashboard exists: alerts to triage, rule
settings, the watchlist and who receives mails. Every change goes through a service
(detection.services), which records it in the ledger; nothing here edits those rows itself.

Alerts about persons protected from disclosure (restricted) are listed only for users with
the detection.view_restricted_alert permission (the national auditors).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from detection import services
from detection.models import (
    Alert,
    AlertEntry,
    AlertNote,
    AlertStatus,
    RuleSetting,
    WatchlistEntry,
)
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


class AlertTriageForm(forms.ModelForm):
    """Status, dismissal reason and assignee, plus a note; saved through the services."""

    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = Alert
        fields = ["status", "dismiss_reason", "assignee"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("status") == AlertStatus.DISMISSED and not data.get("dismiss_reason"):
            raise ValidationError(_("Dismissing needs a reason."))
        return data


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    form = AlertTriageForm
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Alert, form: Any, change: bool) -> None:
        before = Alert.objects.get(pk=obj.pk)
        data = form.cleaned_data
        try:
            if data["assignee"] != before.assignee:
                services.alert_assign(alert=before, assignee=data["assignee"], actor=request.user)
            if data["status"] != before.status:
                services.alert_transition(
                    alert=before,
                    status=data["status"],
                    actor=request.user,
                    reason=data.get("dismiss_reason") or "",
                    note=data.get("note") or "",
                )
            elif data.get("note"):
                services.alert_note_add(alert=before, author=request.user, text=data["note"])
        except services.DetectionError as exc:
            messages.error(request, str(exc))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The inlines are read-only; the services above saved everything.
        return None

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        # The read-only inlines were never saved: only the form's changes are described.
        return super().construct_change_message(request, form, [], add)


class RuleSettingForm(forms.ModelForm):
    params = forms.CharField(
        label=_("Thresholds, JSON"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = RuleSetting
        fields = ["enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["params"] = json.dumps(self.instance.params or {}, sort_keys=True)

    def clean_params(self) -> dict[str, Any]:
        text = self.cleaned_data.get("params") or "{}"
        try:
            value = json.loads(text)
        except ValueError:
            raise ValidationError(_("Enter JSON.")) from None
        if not isinstance(value, dict):
            raise ValidationError(_("Enter a JSON object."))
        return value


@admin.register(RuleSetting)
class RuleSettingAdmin(admin.ModelAdmin):
    form = RuleSettingForm
    list_display = ["code", "title", "enabled", "params", "changed_at"]
    readonly_fields = ["code", "title", "changed_at", "changed_by"]

    @admin.display(description=_("Rule"))
    def title(self, obj: RuleSetting) -> str:
        rule = RULES.get(obj.code)
        return f"{rule.title_ja} ({rule.title_en})" if rule else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: RuleSetting, form: Any, change: bool) -> None:
        try:
            services.rule_setting_change(
                code=obj.code,
                enabled=form.cleaned_data["enabled"],
                params=form.cleaned_data["params"],
                actor=request.user,
            )
        except services.DetectionError as exc:
            messages.error(request, str(exc))


class WatchlistAddForm(forms.ModelForm):
    class Meta:
        model = WatchlistEntry
        fields = ["person", "reason"]


@admin.register(WatchlistEntry)
class WatchlistEntryAdmin(admin.ModelAdmin):
    form = WatchlistAddForm
    list_display = ["subject", "reason", "added_at", "removed_at"]
    list_filter = ["reason"]
    raw_id_fields = ["person"]
    actions = ["remove"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: WatchlistEntry, form: Any, change: bool
    ) -> None:
        try:
            created = services.watchlist_add(
                person=form.cleaned_data["person"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
            obj.pk = created.pk
        except services.DetectionError as exc:
            messages.error(request, str(exc))

    @admin.action(description=_("Remove from the watchlist"))
    def remove(self, request: HttpRequest, queryset: QuerySet[WatchlistEntry]) -> None:
        for entry in queryset.filter(removed_at__isnull=True):
            services.watchlist_remove(entry=entry, actor=request.user)
