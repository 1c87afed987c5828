"""Django admin for the linkage network. My Number is never displayed: only whether one is
registered, masked; it can be set through a write-only field that goes through the service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from agencies import models
from agencies.selectors import person_get_by_my_number
from agencies.services import operator_credential_revoke, person_set_my_number
from audit.admin import ReadOnlyAdmin

MASKED_MY_NUMBER = "●●●●-●●●●-●●●●"


@admin.register(models.Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "prefecture_name"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "name_en"]


class DepartmentInline(admin.TabularInline):
    model = models.Department
    extra = 0


@admin.register(models.Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "organization", "kind"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "organization__name"]
    list_select_related = ["organization"]
    inlines = [DepartmentInline]


@admin.register(models.Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "institution"]
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


@admin.register(models.LinkageRule)
class LinkageRuleAdmin(admin.ModelAdmin):
    list_display = [
        "table_row",
        "requester_kind",
        "requester_institution",
        "affair",
        "provider_kind",
        "provider_institution",
        "item",
        "valid_from",
        "valid_to",
    ]
    list_filter = ["requester_kind", "provider_kind", "item"]
    search_fields = ["affair__name", "affair__code", "item__name", "table_row"]
    list_select_related = [
        "affair",
        "item",
        "requester_institution__organization",
        "provider_institution__organization",
    ]


@admin.register(models.Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["number", "organization", "address"]
    search_fields = ["number", "address"]
    list_select_related = ["organization"]


class PersonAdminForm(forms.ModelForm):
    new_my_number = forms.CharField(
        label="個人番号を登録・変更 (Set My Number)",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="保存後は表示されません。 (Never displayed after saving.)",
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
                raise ValidationError(
                    "この個人番号は既に別の住民に登録されています。 "
                    "(This My Number is already registered to another person.)"
                )
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
        "disclosure_protected",
    ]
    list_filter = ["disclosure_protected", "sex"]
    search_fields = ["family_name", "given_name", "family_name_kana", "given_name_kana"]
    readonly_fields = ["public_id", "masked_my_number"]
    raw_id_fields = ["household"]

    @method_decorator(sensitive_post_parameters("new_my_number"))
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # An error while saving must not put the number typed into the error report.
        return super().changeform_view(request, *args, **kwargs)

    @admin.display(description="個人番号 (My Number)")
    def masked_my_number(self, obj: models.Person) -> str:
        return MASKED_MY_NUMBER if obj.has_my_number else "未登録 (none)"

    def save_model(self, request: HttpRequest, obj: models.Person, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        number = form.cleaned_data.get("new_my_number")
        if number:
            person_set_my_number(person=obj, my_number=number)


@admin.register(models.AddresseeNumber)
class AddresseeNumberAdmin(admin.ModelAdmin):
    list_display = ["number", "organization", "person"]
    search_fields = ["number"]
    raw_id_fields = ["person"]


@admin.register(models.InstitutionToken)
class InstitutionTokenAdmin(admin.ModelAdmin):
    list_display = ["token", "institution", "issued_at"]
    search_fields = ["token"]
    raw_id_fields = ["person"]
    list_select_related = ["institution__organization"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # 符号 are issued by the network only; editing one would detach a person's records.
        return False


@admin.register(models.ProvisionCopy)
class ProvisionCopyAdmin(admin.ModelAdmin):
    list_display = ["institution", "item", "token", "updated_at", "manual_answer", "nondisclosure"]
    list_filter = ["manual_answer", "nondisclosure", "item"]
    raw_id_fields = ["token"]
    list_select_related = ["institution__organization", "item", "token"]


class CaseMemberInline(admin.TabularInline):
    model = models.CaseMember
    extra = 0
    raw_id_fields = ["person"]


@admin.register(models.Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["reference", "affair", "department", "opened_at", "closed_at"]
    list_filter = ["affair__basis"]
    search_fields = ["reference"]
    raw_id_fields = ["applicant", "opened_by"]
    inlines = [CaseMemberInline]
    list_select_related = ["affair", "department__institution__organization"]


@admin.register(models.Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ["document_reference", "affair", "institution", "item", "valid_from", "valid_to"]
    raw_id_fields = ["person"]
    list_select_related = ["affair", "institution__organization", "item"]


@admin.register(models.StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "institution", "department", "role", "audit_pseudonym"]
    list_filter = ["role"]
    search_fields = ["user__username", "audit_pseudonym"]
    filter_horizontal = ["assigned_affairs"]
    raw_id_fields = ["person", "user"]
    readonly_fields = ["audit_pseudonym"]
    list_select_related = ["user", "institution__organization", "department"]


@admin.register(models.AgencySystem)
class AgencySystemAdmin(admin.ModelAdmin):
    list_display = ["name", "institution", "key_prefix", "is_active", "last_used_at"]
    list_filter = ["is_active"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    exclude = ["key_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are minted by agencies.services.agency_system_create, which shows them once.
        return False


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

    @admin.action(description="失効させる (Revoke)", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[models.OperatorCredential]) -> None:
        for credential in queryset.filter(revoked_at__isnull=True):
            operator_credential_revoke(credential=credential)


@admin.register(models.LinkageRequest)
class LinkageRequestAdmin(ReadOnlyAdmin):
    """Read-only: a request's outcome is written by the network service, with its ledger entry."""

    list_display = [
        "request_id",
        "kind",
        "requester",
        "provider",
        "affair",
        "item",
        "status",
        "reason",
        "requested_at",
    ]
    list_filter = ["kind", "status", "reason"]
    search_fields = ["request_id"]
    list_select_related = ["requester__organization", "provider__organization", "affair", "item"]
    raw_id_fields = ["subject", "case", "staff", "answered_by"]


@admin.register(models.Batch)
class BatchAdmin(ReadOnlyAdmin):
    """Read-only: a batch is opened by agencies.batches.batch_open (recorded, batch.opened)
    and sends through the network; its requests are listed under 情報照会."""

    list_display = [
        "opened_at",
        "department",
        "affair",
        "item",
        "provider",
        "purpose",
        "subject_count",
        "finished_at",
    ]
    list_filter = ["purpose"]
    search_fields = ["batch_id"]
    exclude = ["subjects"]  # up to 5,000 宛名番号: the staff pages show the progress instead
    list_select_related = [
        "department__institution__organization",
        "affair",
        "item",
        "provider__organization",
    ]
