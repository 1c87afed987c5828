"""Django admin for the linkage network. My Number is never displayed: only whether one is
registered, masked; it can be set through a write-only field that goes through the service.

Written as a Japanese municipal system writes it: labels through the catalogue, flags as
あり／なし (never True/False, not even as an icon's alt text), reasons in words, institutions by
the names of the official lists (agencies.display)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from agencies import models
from agencies.display import REASON_LABELS, official_name, reason_label, yes_no
from agencies.events import actor_pseudonym
from agencies.permitted_table import (
    ordinance_rule_add,
    ordinance_rule_end,
    rule_add,
    rule_end,
)
from agencies.selectors import person_get_by_my_number
from agencies.services import (
    agency_system_deactivate,
    assignment_end,
    assignment_grant,
    consent_give,
    consent_withdraw,
    nondisclosure_lift,
    nondisclosure_set,
    operator_credential_revoke,
    person_set_my_number,
)
from audit.admin import ReadOnlyAdmin

MASKED_MY_NUMBER = "●●●●-●●●●-●●●●"

admin.site.site_header = _("Yaritori administration")
admin.site.site_title = _("Yaritori administration")


def _flag(field: str, label: Any) -> Any:
    """A column (a method of the admin) showing a boolean field as あり／なし."""

    @admin.display(description=label, ordering=field)
    def column(model_admin: admin.ModelAdmin, obj: Any) -> str:
        return yes_no(getattr(obj, field))

    return column


def _institution(path: str, label: Any) -> Any:
    """A column (a method of the admin) naming an institution (path: attribute names joined
    by __) as the official lists do."""

    @admin.display(description=label, ordering=path)
    def column(model_admin: admin.ModelAdmin, obj: Any) -> str:
        for name in path.split("__"):
            obj = getattr(obj, name)
            if obj is None:
                return "—"
        return official_name(obj)

    return column


class InstitutionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return official_name(obj)


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{official_name(obj.institution)} {obj.name}"


class OfficialNamesAdmin(admin.ModelAdmin):
    """Choices of institutions (and their departments) by the names of the official lists."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is models.Institution:
            kwargs.setdefault("form_class", InstitutionChoiceField)
            kwargs.setdefault("queryset", models.Institution.objects.select_related("organization"))
        elif db_field.related_model is models.Department:
            kwargs.setdefault("form_class", DepartmentChoiceField)
            kwargs.setdefault(
                "queryset",
                models.Department.objects.select_related("institution__organization"),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(models.Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "prefecture_name"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "name_en"]


class DepartmentInline(admin.TabularInline):
    model = models.Department
    extra = 0


@admin.register(models.Institution)
class InstitutionAdmin(OfficialNamesAdmin):
    list_display = [
        "code",
        "official",
        "name",
        "organization",
        "kind",
        "capacity_names",
        "merged_into",
    ]

    @admin.display(description=_("Name in the official lists"))
    def official(self, obj: models.Institution) -> str:
        return official_name(obj)

    @admin.display(description=_("Capacities"))
    def capacity_names(self, obj: models.Institution) -> str:
        return "、".join(str(models.Capacity(code).label) for code in obj.capacities) or "—"

    list_filter = ["kind"]
    search_fields = ["code", "name", "organization__name"]
    list_select_related = ["organization"]
    inlines = [DepartmentInline]


@admin.register(models.Department)
class DepartmentAdmin(OfficialNamesAdmin):
    list_display = ["code", "name", "institution_name"]
    institution_name = _institution("institution", _("Institution"))
    search_fields = ["code", "name"]
    list_select_related = ["institution__organization"]


@admin.register(models.Affair)
class AffairAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "basis", "table_row", "owner_organization", "notified_on"]
    list_filter = ["basis"]
    search_fields = ["code", "name", "statute", "ordinance"]


@admin.register(models.InformationItem)
class InformationItemAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category"]
    search_fields = ["code", "name", "category"]
    filter_horizontal = ["consent_affairs"]


class EndedNotDeletedAdmin(OfficialNamesAdmin):
    """Rows of a legal table (the permitted table, an ordinance table): added through their
    service, ended by the "end today" action (both on the ledger), never changed or deleted,
    so that what was allowed when stays readable."""

    actions = ["end_today"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Existing rows are shown read-only; the add form still needs the permission.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def end(self, row: Any, last_day: Any, actor: str) -> None:
        raise NotImplementedError

    @admin.action(description=_("End today"), permissions=["add"])
    def end_today(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        actor = actor_pseudonym(request.user)
        for row in queryset:
            self.end(row, timezone.localdate(), actor)


@admin.register(models.LinkageRule)
class LinkageRuleAdmin(EndedNotDeletedAdmin):
    list_display = [
        "table_row",
        "requester_capacity",
        "requester",
        "affair",
        "provider_capacity",
        "provider",
        "item",
        "valid_from",
        "valid_to",
    ]
    list_filter = ["requester_capacity", "provider_capacity", "item"]
    search_fields = ["affair__name", "affair__code", "item__name", "table_row"]
    requester = _institution("requester_institution", _("Requester"))
    provider = _institution("provider_institution", _("Provider"))
    list_select_related = [
        "affair",
        "item",
        "requester_institution__organization",
        "provider_institution__organization",
    ]
    fields = [
        "table_row",
        "affair",
        "item",
        "requester_capacity",
        "provider_capacity",
        "valid_from",
        "valid_to",
        "source",
    ]

    def save_model(
        self, request: HttpRequest, obj: models.LinkageRule, form: Any, change: bool
    ) -> None:
        created = rule_add(
            affair=obj.affair,
            item=obj.item,
            requester_capacity=obj.requester_capacity,
            provider_capacity=obj.provider_capacity,
            valid_from=obj.valid_from,
            valid_to=obj.valid_to,
            table_row=obj.table_row,
            source=obj.source,
            actor=actor_pseudonym(request.user),
        )
        obj.pk = created.pk

    def end(self, row: Any, last_day: Any, actor: str) -> None:
        rule_end(rule=row, last_day=last_day, actor=actor)


@admin.register(models.OrdinanceRule)
class OrdinanceRuleAdmin(EndedNotDeletedAdmin):
    list_display = ["organization", "affair", "item", "from_affair", "valid_from", "valid_to"]
    list_filter = ["organization", "item"]
    search_fields = ["affair__name", "affair__code", "ordinance"]
    list_select_related = ["organization", "affair", "item", "from_affair"]

    def save_model(
        self, request: HttpRequest, obj: models.OrdinanceRule, form: Any, change: bool
    ) -> None:
        created = ordinance_rule_add(
            organization=obj.organization,
            affair=obj.affair,
            item=obj.item,
            from_affair=obj.from_affair,
            ordinance=obj.ordinance,
            valid_from=obj.valid_from,
            valid_to=obj.valid_to,
            actor=actor_pseudonym(request.user),
        )
        obj.pk = created.pk

    def end(self, row: Any, last_day: Any, actor: str) -> None:
        ordinance_rule_end(rule=row, last_day=last_day, actor=actor)


@admin.register(models.Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["number", "organization", "address"]
    search_fields = ["number", "address"]
    list_select_related = ["organization"]


class PersonAdminForm(forms.ModelForm):
    new_my_number = forms.CharField(
        label=_("Set or change the My Number"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("It is never displayed after saving."),
    )

    class Meta:
        model = models.Person
        fields = [  # the My Number columns are not editable and never listed
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "sex",
            "date_of_birth",
            "postal_code",
            "address",
            "household",
            "relationship",
            "disclosure_protected",
            "protection_reason",
            "protected_from",
            "protected_until",
        ]

    def clean_new_my_number(self) -> str:
        value: str = self.cleaned_data.get("new_my_number", "")
        if value:
            # Both raise or report errors that never echo the input.
            owner = person_get_by_my_number(my_number=value)
            if owner is not None and owner.pk != self.instance.pk:
                raise ValidationError(_("This My Number is already registered to another person."))
        return value


@admin.register(models.Person)
class PersonAdmin(admin.ModelAdmin):
    form = PersonAdminForm
    list_display = [
        "__str__",
        "family_name_kana",
        "given_name_kana",
        "date_of_birth",
        "masked_my_number",
        "protected",
    ]
    list_filter = ["disclosure_protected", "sex"]
    protected = _flag("disclosure_protected", _("Protected from disclosure"))
    search_fields = ["family_name", "given_name", "family_name_kana", "given_name_kana"]
    readonly_fields = ["public_id", "masked_my_number"]
    raw_id_fields = ["household"]

    @method_decorator(sensitive_post_parameters("new_my_number"))
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # An error while saving must not put the number typed into the error report.
        return super().changeform_view(request, *args, **kwargs)

    @admin.display(description=_("My Number"))
    def masked_my_number(self, obj: models.Person) -> str:
        return MASKED_MY_NUMBER if obj.has_my_number else str(_("Not registered"))

    def save_model(self, request: HttpRequest, obj: models.Person, form: Any, change: bool) -> None:
        # 不開示 is set and lifted through its services, which write the ledger entry; the
        # rest of the person is saved as it was before.
        protect = obj.disclosure_protected
        reason, start, end = obj.protection_reason, obj.protected_from, obj.protected_until
        was = models.Person.objects.get(pk=obj.pk) if change else None
        if was is not None:
            obj.disclosure_protected = was.disclosure_protected
            obj.protection_reason = was.protection_reason
            obj.protected_from, obj.protected_until = was.protected_from, was.protected_until
        else:
            obj.disclosure_protected, obj.protection_reason = False, ""
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            actor = actor_pseudonym(request.user)
            if protect and (
                was is None
                or (
                    was.disclosure_protected,
                    was.protection_reason,
                    was.protected_from,
                    was.protected_until,
                )
                != (True, reason, start, end)
            ):
                nondisclosure_set(
                    person=obj,
                    reason=reason,
                    valid_from=start or timezone.localdate(),
                    valid_to=end,
                    actor=actor,
                )
            elif not protect and was is not None and was.disclosure_protected:
                nondisclosure_lift(person=obj, actor=actor)
            number = form.cleaned_data.get("new_my_number")
            if number:
                person_set_my_number(person=obj, my_number=number)


@admin.register(models.AddresseeNumber)
class AddresseeNumberAdmin(OfficialNamesAdmin):
    list_display = ["number", "organization", "person"]
    search_fields = ["number"]
    raw_id_fields = ["person"]


@admin.register(models.InstitutionToken)
class InstitutionTokenAdmin(OfficialNamesAdmin):
    list_display = ["token", "institution_name", "issued_at"]
    institution_name = _institution("institution", _("Institution"))
    search_fields = ["token"]
    raw_id_fields = ["person"]
    list_select_related = ["institution__organization"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # 符号 are issued by the network only; editing one would detach a person's records.
        return False


@admin.register(models.ProvisionCopy)
class ProvisionCopyAdmin(OfficialNamesAdmin):
    list_display = ["institution_name", "item", "token", "updated_at", "manual", "protected"]
    institution_name = _institution("institution", _("Provider"))
    manual = _flag("manual_answer", _("Manual answer"))
    protected = _flag("nondisclosure", _("Not disclosed"))
    list_filter = ["manual_answer", "nondisclosure", "item"]
    raw_id_fields = ["token"]
    list_select_related = ["institution__organization", "item", "token"]


class CaseMemberInline(admin.TabularInline):
    model = models.CaseMember
    extra = 0
    raw_id_fields = ["person"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.Case)
class CaseAdmin(ReadOnlyAdmin, OfficialNamesAdmin):
    """Read-only: cases are opened and closed on the staff pages or through the API, which
    write their ledger entries."""

    list_display = ["reference", "affair", "department", "opened_at", "closed_at"]
    list_filter = ["affair__basis"]
    search_fields = ["reference"]
    raw_id_fields = ["applicant", "opened_by"]
    inlines = [CaseMemberInline]
    list_select_related = ["affair", "department__institution__organization"]


@admin.register(models.Consent)
class ConsentAdmin(OfficialNamesAdmin):
    """Consents are recorded through consent_give and withdrawn by an action (both on the
    ledger); a recorded consent is never changed or deleted."""

    list_display = [
        "document_reference",
        "affair",
        "institution_name",
        "item",
        "valid_from",
        "valid_to",
        "withdrawn_at",
    ]
    institution_name = _institution("institution", _("Requester"))
    raw_id_fields = ["person"]
    list_select_related = ["affair", "institution__organization", "item"]
    exclude = ["withdrawn_at"]
    actions = ["withdraw"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(
        self, request: HttpRequest, obj: models.Consent, form: Any, change: bool
    ) -> None:
        created = consent_give(
            person=obj.person,
            institution=obj.institution,
            affair=obj.affair,
            item=obj.item,
            valid_from=obj.valid_from,
            valid_to=obj.valid_to,
            document_reference=obj.document_reference,
            actor=actor_pseudonym(request.user),
        )
        obj.pk = created.pk

    @admin.action(description=_("Withdraw"), permissions=["add"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet[models.Consent]) -> None:
        for consent in queryset.filter(withdrawn_at__isnull=True):
            consent_withdraw(consent=consent, actor=actor_pseudonym(request.user))


@admin.register(models.StaffMember)
class StaffMemberAdmin(OfficialNamesAdmin):
    list_display = ["user", "institution_name", "department_name", "role", "audit_pseudonym"]
    institution_name = _institution("institution", _("Institution"))

    @admin.display(description=_("Department"), ordering="department__name")
    def department_name(self, obj: models.StaffMember) -> str:
        return obj.department.name

    list_filter = ["role"]
    search_fields = ["user__username", "audit_pseudonym"]
    filter_horizontal = ["assigned_affairs"]
    raw_id_fields = ["person", "user"]
    readonly_fields = ["audit_pseudonym"]
    list_select_related = ["user", "institution__organization", "department"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Assignments change through their services, one ledger entry each; the form's own
        # many-to-many save is skipped for them.
        staff = form.instance
        wanted = set(form.cleaned_data.get("assigned_affairs", []))
        current = set(staff.assigned_affairs.all()) if change else set()
        form.cleaned_data["assigned_affairs"] = list(current)
        super().save_related(request, form, formsets, change)
        actor = actor_pseudonym(request.user)
        with transaction.atomic():
            for affair in wanted - current:
                assignment_grant(staff=staff, affair=affair, actor=actor)
            for affair in current - wanted:
                assignment_end(staff=staff, affair=affair, actor=actor)


@admin.register(models.AgencySystem)
class AgencySystemAdmin(OfficialNamesAdmin):
    list_display = ["name", "institution_name", "key_prefix", "active", "last_used_at"]
    list_select_related = ["institution__organization"]
    institution_name = _institution("institution", _("Institution"))
    active = _flag("is_active", _("Active"))
    list_filter = ["is_active"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at", "is_active"]
    exclude = ["key_hash"]
    actions = ["deactivate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are minted by agencies.services.agency_system_create, which shows them once.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Deactivate the key"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[models.AgencySystem]) -> None:
        for system in queryset.filter(is_active=True):
            agency_system_deactivate(system=system, actor=actor_pseudonym(request.user))


@admin.register(models.OperatorCredential)
class OperatorCredentialAdmin(admin.ModelAdmin):
    """Operator credentials are issued by `manage.py operator_credential issue` (the secret is
    shown once) and revoked here or there; both write their ledger entry."""

    list_display = ["prefix", "staff", "issued_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "staff__user__username"]
    list_select_related = ["staff__user", "staff__institution__organization"]
    readonly_fields = ["staff", "prefix", "issued_at", "revoked_at"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Revoke the selected credentials"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[models.OperatorCredential]) -> None:
        for credential in queryset.filter(revoked_at__isnull=True):
            operator_credential_revoke(credential=credential)


class ReasonFilter(admin.SimpleListFilter):
    """The refusal or hold reason, in words (the stored value is a code)."""

    title = _("Reason")
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(REASON_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(reason=self.value()) if self.value() else queryset


@admin.register(models.LinkageRequest)
class LinkageRequestAdmin(ReadOnlyAdmin):
    """Read-only: a request's outcome is written by the network service, with its ledger entry."""

    list_display = [
        "request_id",
        "kind",
        "requester_name",
        "provider_name",
        "affair",
        "item",
        "status",
        "reason_text",
        "requested_at",
    ]
    list_filter = ["kind", "status", ReasonFilter]
    search_fields = ["request_id"]
    list_select_related = ["requester__organization", "provider__organization", "affair", "item"]
    raw_id_fields = ["subject", "case", "staff", "answered_by"]
    requester_name = _institution("requester", _("Requester"))
    provider_name = _institution("provider", _("Provider"))
    # The change page is read-only: every field shown as text, the flag and the reason in
    # words, the institutions by their official names.
    readonly_fields = [
        "request_id",
        "kind",
        "requester_name",
        "provider_name",
        "staff",
        "affair",
        "from_affair",
        "item",
        "case",
        "batch",
        "subject",
        "terminal",
        "status",
        "reason_text",
        "not_disclosed",
        "payload",
        "requested_at",
        "answered_at",
        "answered_by",
    ]
    fields = tuple(readonly_fields)
    not_disclosed = _flag("nondisclosure", _("Not disclosed"))

    @admin.display(description=_("Reason"), ordering="reason")
    def reason_text(self, obj: models.LinkageRequest) -> str:
        return reason_label(obj.reason) or "—"


@admin.register(models.Batch)
class BatchAdmin(ReadOnlyAdmin):
    """Read-only: a batch is opened by agencies.batches.batch_open (recorded, batch.opened)
    and sends through the network; its requests are listed under 情報照会."""

    list_display = [
        "opened_at",
        "department",
        "affair",
        "item",
        "provider_name",
        "purpose",
        "subject_count",
        "finished_at",
    ]
    list_filter = ["purpose"]
    search_fields = ["batch_id"]
    exclude = ["subjects"]  # up to 5,000 宛名番号: the staff pages show the progress instead
    provider_name = _institution("provider", _("Provider"))
    list_select_related = [
        "department__institution__organization",
        "affair",
        "item",
        "provider__organization",
    ]
