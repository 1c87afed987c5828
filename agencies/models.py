"""The linkage network's domain model (情報提供ネットワークシステムのモック).

Every model names its Japanese term. Labels are written in English and translated through the
catalogue (locale/ja), so the admin reads as a Japanese municipal system writes it, and in
English for an outside reviewer.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.codes import (
    validate_affair_code,
    validate_item_code,
    validate_local_government_code,
)


class OrganizationKind(models.TextChoices):
    MUNICIPALITY = "municipality", _("Municipality")
    PREFECTURE = "prefecture", _("Prefecture")
    NATIONAL = "national", _("National body")
    INSURER = "insurer", _("Insurer")


class Organization(models.Model):
    """団体: a local government, national body or insurer, identified by its 団体コード."""

    code = models.CharField(
        _("Organisation code"),
        max_length=6,
        unique=True,
        validators=[validate_local_government_code],
    )
    kind = models.CharField(_("Kind"), max_length=16, choices=OrganizationKind.choices)
    name = models.CharField(_("Name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    prefecture_name = models.CharField(_("Prefecture"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("Organisation")
        verbose_name_plural = _("Organisations")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class InstitutionKind(models.TextChoices):
    """What kind of executive organ (執行機関) or body an institution is. Descriptive only: the
    permitted table matches capacities (Capacity), not kinds."""

    MUNICIPALITY_HEAD = "municipality_head", _("Mayor (municipality)")
    PREFECTURE_HEAD = "prefecture_head", _("Governor and equivalents")
    BOARD_OF_EDUCATION = "board_of_education", _("Board of education")
    NATIONAL = "national", _("National ministry")
    PENSION_SERVICE = "pension_service", _("Japan Pension Service")
    HEALTH_INSURER = "health_insurer", _("Health insurer")
    OTHER = "other", _("Other")


class Capacity(models.TextChoices):
    """The capacities (立場) in which the permitted table names requesters and providers.

    One institution is one 執行機関 of an organisation (市長, 教育委員会, 知事 …) and may act in
    several capacities: a city's mayor is 市町村長, also 都道府県知事等 as the 保護の実施機関 of
    its welfare office, and 国民健康保険の保険者. A row of the table matches the institutions
    holding its capacity, and only those: a capacity names exactly who the law names.
    """

    MUNICIPALITY_HEAD = "municipality_head", _("Mayor of a municipality")
    WELFARE_AUTHORITY = (
        "welfare_authority",
        (_("Governor, or mayor with a welfare office")),
    )
    PREFECTURE_GOVERNOR = "prefecture_governor", _("Prefectural governor")
    # 大都市等の特例 (地方自治法第252条の19): a designated city's mayor does what the governor
    # does for some affairs (小児慢性特定疾病, 精神障害者保健福祉手帳, 手帳の交付 …).
    GOVERNOR_OR_DESIGNATED_CITY = (
        "governor_or_designated_city",
        (_("Governor, or mayor of a designated city")),
    )
    BOARD_OF_EDUCATION = "board_of_education", _("Board of education")
    PUBLIC_HOUSING_OPERATOR = (
        "public_housing_operator",
        (_("Operator of public housing")),
    )
    NHI_INSURER = "nhi_insurer", _("National Health Insurance insurer")
    EMPLOYEE_HEALTH_INSURER = (
        "employee_health_insurer",
        (_("Employees' health insurer")),
    )
    MEDICAL_INSURER = (
        "medical_insurer",
        (_("Medical insurer")),
    )
    ELDERLY_MEDICAL_UNION = (
        "elderly_medical_union",
        (_("Late-stage elderly medical care union")),
    )
    PENSION_SERVICE = "pension_service", _("Japan Pension Service")
    EMPLOYMENT_SECURITY = (
        "employment_security",
        _("Minister of Health, Labour and Welfare: employment insurance"),
    )
    JUSTICE_MINISTER = "justice_minister", _("Minister of Justice")
    PUBLIC_FUNDS_ACCOUNT_REGISTRY = (
        "public_funds_account_registry",
        (_("Prime Minister: public funds receiving accounts")),
    )
    STUDENT_SUPPORT = (
        "student_support",
        (_("Japan Student Services Organization")),
    )


def validate_capacities(value: object) -> None:
    """A list of distinct Capacity codes."""
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise ValidationError(_("Capacities are a list of codes."))
    unknown = set(value) - set(Capacity.values)
    if unknown or len(set(value)) != len(value):
        raise ValidationError(_("Unknown or repeated capacity."))


class Institution(models.Model):
    """機関: one executive organ (執行機関) of an organisation: 市長, 教育委員会, 知事, a
    minister, a corporation. It is a requester or provider in the capacities it holds
    (Capacity).

    Its 16-digit 機関コード is what the network and the ledger know it by. An institution that
    was merged into another (merged_into) keeps its rows for the history that names it, and
    takes no new part in linkage.
    """

    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="institutions",
        verbose_name=_("Organisation"),
    )
    code = models.CharField(_("Institution code"), max_length=16, unique=True)
    kind = models.CharField(_("Institution kind"), max_length=24, choices=InstitutionKind.choices)
    name = models.CharField(_("Name"), max_length=100)
    capacities = models.JSONField(
        _("Capacities"),
        default=list,
        blank=True,
        validators=[validate_capacities],
        help_text=_("The capacities the permitted table names it in"),
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged",
        verbose_name=_("Merged into"),
    )

    class Meta:
        verbose_name = _("Institution")
        verbose_name_plural = _("Institutions")
        ordering = ["code"]

    def __str__(self) -> str:
        # Official lists name an institution in full (札幌市長, 日本年金機構): when the name
        # already begins with the organisation's, it is not repeated.
        if self.name.startswith(self.organization.name):
            return self.name
        return f"{self.organization.name} {self.name}"

    def holds(self, capacity: str) -> bool:
        """Whether the institution acts in capacity (and takes part in linkage at all)."""
        return self.merged_into_id is None and capacity in self.capacities


class Department(models.Model):
    """課: a department of an institution, where staff work and cases are handled."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="departments",
        verbose_name=_("Institution"),
    )
    code = models.CharField(_("Department code"), max_length=20)
    name = models.CharField(_("Name"), max_length=100)

    class Meta:
        verbose_name = _("Department")
        verbose_name_plural = _("Departments")
        constraints = [
            models.UniqueConstraint(fields=["institution", "code"], name="department_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.institution} {self.name}"


class LegalBasis(models.TextChoices):
    STATUTORY = "statutory", _("Statutory affair")
    INDEPENDENT = "independent", _("Independent-use affair")


class Affair(models.Model):
    """事務 (事務手続): a legal procedure for which My Number data may be used.

    A statutory affair (法定事務) rests on a row of the permitted table (別表第二 / 主務省令);
    an independent-use affair (独自利用事務) rests on a local ordinance and may use the network
    only once it has been notified (届出) to the privacy commission.
    """

    code = models.CharField(
        _("Affair code"),
        max_length=16,
        unique=True,
        validators=[validate_affair_code],
    )
    name = models.CharField(_("Name"), max_length=200)
    basis = models.CharField(_("Legal basis"), max_length=12, choices=LegalBasis.choices)
    statute = models.CharField(_("Statute"), max_length=200, blank=True)
    table_row = models.CharField(_("Row of the permitted table"), max_length=10, blank=True)
    owner_organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="independent_affairs",
        verbose_name=_("Ordinance owner"),
        help_text=_("Independent-use affairs only"),
    )
    ordinance = models.CharField(_("Ordinance"), max_length=200, blank=True)
    notification_number = models.CharField(_("Notification number"), max_length=40, blank=True)
    notified_on = models.DateField(_("Notified on"), null=True, blank=True)

    class Meta:
        verbose_name = _("Affair")
        verbose_name_plural = _("Affairs")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(basis="statutory", owner_organization__isnull=True)
                | Q(basis="independent", owner_organization__isnull=False),
                name="affair_owner_matches_basis",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def linkage_allowed_on(self, day: dt.date) -> bool:
        """Statutory affairs always; independent-use ones from their notification date on."""
        if self.basis == LegalBasis.STATUTORY:
            return True
        return self.notified_on is not None and self.notified_on <= day


class InformationItem(models.Model):
    """特定個人情報 (the item requested): e.g. 地方税関係情報, 生活保護関係情報.

    consent_affairs lists the affairs for which querying this item needs the person's
    consent (本人同意; in practice 地方税関係情報 under the 2017 notice).
    """

    code = models.CharField(
        _("Item code"),
        max_length=16,
        unique=True,
        validators=[validate_item_code],
    )
    name = models.CharField(_("Name"), max_length=200)
    category = models.CharField(_("Category"), max_length=60)
    consent_affairs = models.ManyToManyField(
        Affair,
        blank=True,
        related_name="consent_items",
        verbose_name=_("Affairs needing consent"),
    )

    class Meta:
        verbose_name = _("Information item")
        verbose_name_plural = _("Information items")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class LinkageRule(models.Model):
    """A row of the permitted table (別表第二 / 主務省令): who may ask whom for what, for which
    affair, between which dates. Each side names one institution or a capacity (Capacity).
    Rows are never deleted: a row that no longer applies is ended (valid_to)."""

    requester_institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Requester"),
    )
    requester_capacity = models.CharField(
        _("Requester capacity"), max_length=40, choices=Capacity.choices, blank=True
    )
    affair = models.ForeignKey(
        Affair, on_delete=models.PROTECT, related_name="rules", verbose_name=_("Affair")
    )
    provider_institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Provider"),
    )
    provider_capacity = models.CharField(
        _("Provider capacity"), max_length=40, choices=Capacity.choices, blank=True
    )
    item = models.ForeignKey(
        InformationItem,
        on_delete=models.PROTECT,
        related_name="rules",
        verbose_name=_("Item"),
    )
    valid_from = models.DateField(_("In force from"))
    valid_to = models.DateField(_("In force until"), null=True, blank=True)
    table_row = models.CharField(_("Row"), max_length=10, blank=True)
    source = models.CharField(_("Source"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("Permitted linkage")
        verbose_name_plural = _("Permitted table")
        constraints = [
            models.CheckConstraint(
                condition=(Q(requester_institution__isnull=True) & ~Q(requester_capacity=""))
                | (Q(requester_institution__isnull=False) & Q(requester_capacity="")),
                name="rule_requester_one_of",
            ),
            models.CheckConstraint(
                condition=(Q(provider_institution__isnull=True) & ~Q(provider_capacity=""))
                | (Q(provider_institution__isnull=False) & Q(provider_capacity="")),
                name="rule_provider_one_of",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="rule_valid_period",
            ),
        ]
        indexes = [models.Index(fields=["affair", "item"])]

    def __str__(self) -> str:
        requester = self.requester_institution or self.get_requester_capacity_display()
        provider = self.provider_institution or self.get_provider_capacity_display()
        return f"{requester} → {provider}: {self.item.name} / {self.affair.name}"

    def valid_on(self, day: dt.date) -> bool:
        """True when day falls within [valid_from, valid_to]."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class OrdinanceRule(models.Model):
    """条例で定める庁内利用: a row of an organisation's ordinance (番号法第9条第2項) that lets one
    of its affairs use an item from another affair's records, or from a register that is no
    affair (住民基本台帳: from_affair empty), inside one institution (庁内連携). A 庁内連携 outside
    the table is refused. Rows are ended (valid_to), never deleted."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="ordinance_rules",
        verbose_name=_("Organisation"),
    )
    affair = models.ForeignKey(
        Affair,
        on_delete=models.PROTECT,
        related_name="ordinance_uses",
        verbose_name=_("Using affair"),
    )
    item = models.ForeignKey(
        InformationItem,
        on_delete=models.PROTECT,
        related_name="ordinance_rules",
        verbose_name=_("Item"),
    )
    from_affair = models.ForeignKey(
        Affair,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ordinance_sources",
        verbose_name=_("Providing affair"),
        help_text=_("Empty for a register that is no affair (住民基本台帳)"),
    )
    ordinance = models.CharField(_("Ordinance provision"), max_length=200)
    valid_from = models.DateField(_("In force from"))
    valid_to = models.DateField(_("In force until"), null=True, blank=True)

    class Meta:
        verbose_name = _("Ordinance on internal use")
        verbose_name_plural = _("Ordinance table")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="ordinance_valid_period",
            ),
        ]
        indexes = [models.Index(fields=["organization", "affair", "item"])]

    def __str__(self) -> str:
        source = self.from_affair.name if self.from_affair else "台帳"
        return f"{self.organization.name}: {source} → {self.affair.name} ({self.item.name})"

    def valid_on(self, day: dt.date) -> bool:
        """True when day falls within [valid_from, valid_to]."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class Sex(models.TextChoices):
    MALE = "1", _("Male")
    FEMALE = "2", _("Female")


class Household(models.Model):
    """世帯: the people registered at one address under one head (住民票の世帯)."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="households",
        verbose_name=_("Municipality of residence"),
    )
    number = models.CharField(_("Household number"), max_length=20)
    address = models.CharField(_("Address"), max_length=200)

    class Meta:
        verbose_name = _("Household")
        verbose_name_plural = _("Households")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="household_unique")
        ]

    def __str__(self) -> str:
        return f"{self.organization.name} 世帯{self.number}"


class Person(models.Model):
    """住民 / 本人: a person with 基本4情報 (name, sex, address, date of birth).

    My Number is held only as AES-GCM ciphertext plus a keyed blind index (see
    agencies.mynumber_crypto); no field, string form or admin page ever shows it.
    不開示 protection (DV 支援措置 etc.) hides the person's records from disclosure and proxies.
    """

    public_id = models.UUIDField(_("Public id"), default=uuid.uuid4, unique=True, editable=False)
    family_name = models.CharField(_("Family name"), max_length=40)
    given_name = models.CharField(_("Given name"), max_length=40)
    family_name_kana = models.CharField(_("Family name, kana"), max_length=60)
    given_name_kana = models.CharField(_("Given name, kana"), max_length=60)
    sex = models.CharField(_("Sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(_("Date of birth"))
    postal_code = models.CharField(_("Postal code"), max_length=8, blank=True)
    address = models.CharField(_("Address"), max_length=200)
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("Household"),
    )
    relationship = models.CharField(
        _("Relation to the head of household"), max_length=20, blank=True
    )

    my_number_ciphertext = models.BinaryField(_("My Number, encrypted"), null=True, editable=False)
    my_number_key_id = models.CharField(
        _("Encryption key id"), max_length=16, blank=True, editable=False
    )
    # NULL (no number registered) never collides in the unique index; "" would.
    my_number_index = models.CharField(  # noqa: DJ001
        _("Blind index"), max_length=64, null=True, unique=True, editable=False
    )

    disclosure_protected = models.BooleanField(_("Protected from disclosure"), default=False)
    protection_reason = models.CharField(_("Reason for the protection"), max_length=100, blank=True)
    protected_from = models.DateField(_("Protected from"), null=True, blank=True)
    protected_until = models.DateField(_("Protected until"), null=True, blank=True)

    class Meta:
        verbose_name = _("Person")
        verbose_name_plural = _("Persons")
        indexes = [models.Index(fields=["family_name_kana", "given_name_kana"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(disclosure_protected=False) | ~Q(protection_reason=""),
                name="person_protection_has_reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def has_my_number(self) -> bool:
        return self.my_number_index is not None

    def is_protected_on(self, day: dt.date) -> bool:
        """True when the 不開示 protection covers day."""
        if not self.disclosure_protected:
            return False
        if self.protected_from and day < self.protected_from:
            return False
        return not (self.protected_until and day > self.protected_until)


class AddresseeNumber(models.Model):
    """団体内統合宛名番号: an organisation's own 15-digit number for a person, which joins its
    business systems to the network's 符号 without ever using My Number."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="addressee_numbers",
        verbose_name=_("Organisation"),
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="addressee_numbers",
        verbose_name=_("Person"),
    )
    number = models.CharField(_("Integrated addressee number"), max_length=15)

    class Meta:
        verbose_name = _("Integrated addressee number")
        verbose_name_plural = _("Integrated addressee numbers")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="addressee_unique"),
            models.UniqueConstraint(
                fields=["organization", "person"], name="addressee_one_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization.code}:{self.number}"


class InstitutionToken(models.Model):
    """符号: the network's pseudonym for a person at one institution. Derived with a key only
    the network service holds, so institutions can neither compute it from My Number nor
    match it with another institution's 符号."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="tokens",
        verbose_name=_("Institution"),
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="tokens", verbose_name=_("Person")
    )
    token = models.CharField(_("Token"), max_length=32, unique=True)
    issued_at = models.DateTimeField(_("Obtained at"), default=timezone.now)

    class Meta:
        verbose_name = _("Institution token")
        verbose_name_plural = _("Institution tokens")
        constraints = [
            models.UniqueConstraint(fields=["institution", "person"], name="token_one_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.institution.code}:{self.token}"


class ProvisionCopy(models.Model):
    """副本: a copy of one item about one person that the provider's 中間サーバー holds ready
    to answer requests automatically. manual_answer holds requests for a person to answer;
    nondisclosure marks the copy 不開示 (the provider's own protection flag)."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="provision_copies",
        verbose_name=_("Provider"),
    )
    token = models.ForeignKey(
        InstitutionToken,
        on_delete=models.PROTECT,
        related_name="provision_copies",
        verbose_name=_("Token"),
    )
    item = models.ForeignKey(
        InformationItem,
        on_delete=models.PROTECT,
        related_name="provision_copies",
        verbose_name=_("Item"),
    )
    payload = models.JSONField(_("Contents"))
    updated_at = models.DateTimeField(_("Updated at"), default=timezone.now)
    manual_answer = models.BooleanField(_("Manual answer"), default=False)
    nondisclosure = models.BooleanField(_("Not disclosed"), default=False)

    class Meta:
        verbose_name = _("Provision copy")
        verbose_name_plural = _("Provision copies")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "token", "item"], name="provision_copy_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.institution.code} {self.item.code} {self.token.token}"


class Case(models.Model):
    """案件: an application or procedure under an affair, the legitimate reason behind a query.
    Its household members are the people a query under this case may concern."""

    affair = models.ForeignKey(
        Affair, on_delete=models.PROTECT, related_name="cases", verbose_name=_("Affair")
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("Department in charge"),
    )
    reference = models.CharField(_("Reference number"), max_length=40)
    applicant = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="cases_as_applicant",
        verbose_name=_("Applicant"),
    )
    members: models.ManyToManyField[Person, CaseMember] = models.ManyToManyField(
        Person,
        through="CaseMember",
        related_name="cases",
        verbose_name=_("Household members"),
    )
    opened_by = models.ForeignKey(
        "StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opened_cases",
        verbose_name=_("Opened by"),
    )
    opened_at = models.DateTimeField(_("Opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("Closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Case")
        verbose_name_plural = _("Cases")
        constraints = [
            models.UniqueConstraint(fields=["department", "reference"], name="case_ref_unique"),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=models.F("opened_at")),
                name="case_closed_after_opened",
            ),
        ]
        indexes = [models.Index(fields=["affair", "closed_at"])]

    def __str__(self) -> str:
        return f"{self.reference} ({self.affair.name})"

    def is_open_at(self, moment: dt.datetime) -> bool:
        """True when moment lies between opening and closing (or the case is still open)."""
        return self.opened_at <= moment and (self.closed_at is None or moment < self.closed_at)


# A case concerns its applicant, members of the applicant's household (世帯), and people outside
# the household only with a stated relation: the Japanese label a clerk chooses, and the code
# the ledger records.
OUTSIDE_HOUSEHOLD_RELATIONS = {
    "扶養義務者": "support_obligor",
    "生計維持者": "breadwinner",
    "別居の配偶者": "spouse_apart",
    "別居の親族": "relative_apart",
    "法定代理人": "legal_representative",
}
MAX_CASE_MEMBERS = 20  # the applicant included; a household of more is rare


class CaseMember(models.Model):
    """世帯員: a person whose data a case may need (the applicant is one of them)."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="case_members", verbose_name=_("Case")
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("Person")
    )
    role = models.CharField(_("Relation"), max_length=20, default="本人")

    class Meta:
        verbose_name = _("Case member")
        verbose_name_plural = _("Case members")
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="case_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.role}"


class Consent(models.Model):
    """本人同意: a person's consent that an institution query an item for an affair."""

    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="consents",
        verbose_name=_("Person consenting"),
    )
    affair = models.ForeignKey(
        Affair, on_delete=models.PROTECT, related_name="consents", verbose_name=_("Affair")
    )
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="consents",
        verbose_name=_("Requester"),
    )
    item = models.ForeignKey(
        InformationItem,
        on_delete=models.PROTECT,
        related_name="consents",
        verbose_name=_("Item"),
    )
    valid_from = models.DateField(_("Valid from"))
    valid_to = models.DateField(_("Valid to"), null=True, blank=True)
    document_reference = models.CharField(_("Consent form number"), max_length=60)
    withdrawn_at = models.DateTimeField(_("Withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Consent")
        verbose_name_plural = _("Consents")
        indexes = [models.Index(fields=["person", "affair", "item"])]

    def __str__(self) -> str:
        return f"{self.document_reference}"

    def valid_on(self, day: dt.date) -> bool:
        """True when day falls within the consent's period and before any withdrawal (a
        consent withdrawn on a day no longer covers that day)."""
        if self.withdrawn_at is not None and timezone.localdate(self.withdrawn_at) <= day:
            return False
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def new_staff_pseudonym() -> str:
    """A random, stable pseudonym for a staff member (ST + 16 hex digits)."""
    return "ST" + uuid.uuid4().hex[:16].upper()


class StaffRole(models.TextChoices):
    CLERK = "clerk", _("Clerk")
    SUPERVISOR = "supervisor", _("Supervisor")
    PROVIDER_OPERATOR = "provider_operator", _("Provider operator")


class StaffMember(models.Model):
    """職員: a user who works for one institution and department on the affairs assigned to
    them. audit_pseudonym is what the ledger records instead of the name; person links the
    staff member to their own resident record, which misuse detection needs."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="staff_member",
        verbose_name=_("User"),
    )
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name=_("Institution"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="staff", verbose_name=_("Department")
    )
    assigned_affairs = models.ManyToManyField(
        Affair, blank=True, related_name="staff", verbose_name=_("Assigned affairs")
    )
    role = models.CharField(
        _("Role"), max_length=20, choices=StaffRole.choices, default=StaffRole.CLERK
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_roles",
        verbose_name=_("Own resident record"),
    )
    audit_pseudonym = models.CharField(
        _("Audit pseudonym"),
        max_length=32,
        unique=True,
        editable=False,
        default=new_staff_pseudonym,
    )

    class Meta:
        verbose_name = _("Staff member")
        verbose_name_plural = _("Staff members")

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.institution})"


class AgencySystem(models.Model):
    """業務システム: an institution's API client. The API key is shown once at creation and
    stored only as its SHA-256 (the key is 256 random bits, so a slow hash adds nothing)."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="systems",
        verbose_name=_("Institution"),
    )
    name = models.CharField(_("System name"), max_length=100)
    key_prefix = models.CharField(_("Key prefix"), max_length=12, unique=True)
    key_hash = models.CharField(_("Key hash"), max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(_("Active"), default=True)
    created_at = models.DateTimeField(_("Created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("Last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Agency system")
        verbose_name_plural = _("Agency systems")

    def __str__(self) -> str:
        return f"{self.name} ({self.institution.code})"


class OperatorCredential(models.Model):
    """操作者証明: an operator's own credential for the agency API, issued to one staff member
    and revocable on its own. The calling system presents it with its system key, so the staff
    member named in the ledger is one the network verified, not only one the system claims.
    Stored as its SHA-256 only (256 random bits: a slow hash adds nothing)."""

    staff = models.ForeignKey(
        "StaffMember",
        on_delete=models.PROTECT,
        related_name="credentials",
        verbose_name=_("Staff member"),
    )
    prefix = models.CharField(_("Prefix"), max_length=12, unique=True)
    token_hash = models.CharField(_("Hash"), max_length=64, unique=True, editable=False)
    issued_at = models.DateTimeField(_("Issued at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("Revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Operator credential")
        verbose_name_plural = _("Operator credentials")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.staff})"


class LinkageStatus(models.TextChoices):
    PROVIDED = "provided", _("Provided")
    NOT_FOUND = "not_found", _("No data held")
    REFUSED = "refused", _("Refused")
    HELD = "held", _("Held")
    RELEASED = "released", _("Released manually")
    DECLINED = "declined", _("Declined")


class LinkageRequest(models.Model):
    """情報照会: one request of an institution for an item about a person, through the network.

    request_id is the requester's own id; a request id is answered once. The subject is held
    here as a Person for the service's own use; the ledger records only its pseudonym.
    """

    request_id = models.UUIDField(_("Request id"), unique=True)
    kind = models.CharField(
        _("Kind"),
        max_length=12,
        choices=[("network", _("Network linkage")), ("internal", _("Internal transfer"))],
        default="network",
    )
    requester = models.ForeignKey(
        Institution,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="requests_made",
        verbose_name=_("Requester"),
    )
    provider = models.ForeignKey(
        Institution,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="requests_received",
        verbose_name=_("Provider"),
    )
    staff = models.ForeignKey(
        StaffMember,
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name=_("Staff"),
        db_index=False,
    )
    affair = models.ForeignKey(
        Affair,
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name=_("Affair"),
        db_index=False,
    )
    from_affair = models.ForeignKey(
        Affair,
        db_index=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Providing affair"),
    )
    item = models.ForeignKey(
        InformationItem,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name=_("Item"),
    )
    case = models.ForeignKey(
        Case,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
        verbose_name=_("Case"),
    )
    subject = models.ForeignKey(
        Person,
        db_index=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Subject"),
    )
    terminal = models.CharField(_("Terminal"), max_length=32, blank=True)
    status = models.CharField(_("Outcome"), max_length=12, choices=LinkageStatus.choices)
    reason = models.CharField(_("Reason"), max_length=48, blank=True)
    nondisclosure = models.BooleanField(_("Not disclosed"), default=False)
    payload = models.JSONField(_("Answer given"), null=True, blank=True)
    requested_at = models.DateTimeField(_("Requested at"))
    answered_at = models.DateTimeField(_("Answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        StaffMember,
        db_index=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Answered by"),
    )
    # The 一括照会 that explains the request, as a case does (agencies.batches). Indexed only
    # where set (see Meta), so the network's single requests do not pay for the index.
    batch = models.ForeignKey(
        "Batch",
        db_index=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
        verbose_name=_("Batch query"),
    )

    class Meta:
        verbose_name = _("Linkage request")
        verbose_name_plural = _("Linkage requests")
        # Every index is written on each of the network's requests, so only the ones that a
        # page or a detection query reads: the provider's held queue, each institution's,
        # staff member's and resident's history, a case's queries (case_id keeps Django's
        # own). The other foreign keys need none: rows referring to an affair, an item or a
        # staff member as approver are looked up only when deleting one, which PROTECT
        # refuses anyway.
        indexes = [
            models.Index(fields=["provider", "status"]),
            models.Index(fields=["requester", "requested_at"]),
            models.Index(fields=["staff", "requested_at"]),
            models.Index(fields=["subject", "requested_at"]),
            # A batch's progress (agencies.batches.batch_progress): its requests by outcome.
            models.Index(
                fields=["batch", "status"],
                condition=Q(batch__isnull=False),
                name="linkagerequest_batch_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.status}"


MAX_BATCH_SUBJECTS = 5000  # a batch job's subjects; a yearly 現況 check is split beyond this


class BatchPurpose(models.TextChoices):
    """Why a department queries many residents at once (the ledger records the code)."""

    STATUS_CHECK = "status_check", _("Yearly status check")
    INCOME_UPDATE = "income_update", _("Yearly income update")
    RENEWAL = "renewal", _("Renewal of a certificate")
    ELIGIBILITY_REVIEW = "eligibility_review", _("Eligibility review")


class Batch(models.Model):
    """一括照会: a department's batch job of 情報照会 along one route (affair, item, provider)
    for a list of its organisation's residents, e.g. the yearly 現況 check of 児童手当.

    The batch is the reason behind its requests, as a case is: each request names it
    (LinkageRequest.batch and the `batch` field of its ledger entry), and the network refuses a
    request that names a batch of another department, affair or route. subjects holds the
    residents' 宛名番号 in the order given, resolved when the batch was opened.
    """

    batch_id = models.UUIDField(_("Batch id"), default=uuid.uuid4, unique=True, editable=False)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="batches",
        verbose_name=_("Department"),
    )
    affair = models.ForeignKey(
        Affair, on_delete=models.PROTECT, related_name="batches", verbose_name=_("Affair")
    )
    item = models.ForeignKey(
        InformationItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("Item")
    )
    provider = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("Provider")
    )
    purpose = models.CharField(_("Purpose"), max_length=32, choices=BatchPurpose.choices)
    subjects = models.JSONField(_("Subjects (addressee numbers)"), default=list)
    subject_count = models.PositiveIntegerField(_("Number of subjects"))
    opened_by = models.ForeignKey(
        StaffMember,
        on_delete=models.PROTECT,
        related_name="opened_batches",
        verbose_name=_("Started by"),
    )
    opened_at = models.DateTimeField(_("Started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("Every request sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Batch query")
        verbose_name_plural = _("Batch queries")
        constraints = [
            models.CheckConstraint(
                condition=Q(subject_count__gte=1) & Q(subject_count__lte=MAX_BATCH_SUBJECTS),
                name="batch_subject_count_bounded",
            )
        ]
        indexes = [models.Index(fields=["department", "opened_at"])]

    def __str__(self) -> str:
        return f"{self.affair.name} {self.opened_at:%Y-%m-%d} ({self.subject_count})"
