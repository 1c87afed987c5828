"""The linkage network's domain model (情報提供ネットワークシステムのモック).

Every model names its Japanese term. Labels are bilingual ("日本語 (English)") so the admin
reads the same for a Japanese-speaking operator and an outside reviewer.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from agencies.codes import (
    validate_affair_code,
    validate_item_code,
    validate_local_government_code,
)


class OrganizationKind(models.TextChoices):
    MUNICIPALITY = "municipality", "市区町村 (Municipality)"
    PREFECTURE = "prefecture", "都道府県 (Prefecture)"
    NATIONAL = "national", "国の機関 (National body)"
    INSURER = "insurer", "医療保険者等 (Insurer)"


class Organization(models.Model):
    """団体: a local government, national body or insurer, identified by its 団体コード."""

    code = models.CharField(
        "団体コード (Organisation code)",
        max_length=6,
        unique=True,
        validators=[validate_local_government_code],
    )
    kind = models.CharField("種別 (Kind)", max_length=16, choices=OrganizationKind.choices)
    name = models.CharField("名称 (Name)", max_length=100)
    name_en = models.CharField("英語名 (English name)", max_length=100, blank=True)
    prefecture_name = models.CharField("都道府県 (Prefecture)", max_length=10, blank=True)

    class Meta:
        verbose_name = "団体 (Organisation)"
        verbose_name_plural = "団体 (Organisations)"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class InstitutionKind(models.TextChoices):
    """What kind of executive organ (執行機関) or body an institution is. Descriptive only: the
    permitted table matches capacities (Capacity), not kinds."""

    MUNICIPALITY_HEAD = "municipality_head", "市町村長 (Mayor's office)"
    PREFECTURE_HEAD = "prefecture_head", "都道府県知事等 (Governor's office)"
    BOARD_OF_EDUCATION = "board_of_education", "教育委員会 (Board of education)"
    NATIONAL = "national", "国の行政機関 (National ministry)"
    PENSION_SERVICE = "pension_service", "日本年金機構 (Japan Pension Service)"
    HEALTH_INSURER = "health_insurer", "医療保険者 (Health insurer)"
    OTHER = "other", "その他 (Other)"


class Capacity(models.TextChoices):
    """The capacities (立場) in which the permitted table names requesters and providers.

    One institution is one 執行機関 of an organisation (市長, 教育委員会, 知事 …) and may act in
    several capacities: a city's mayor is 市町村長, also 都道府県知事等 as the 保護の実施機関 of
    its welfare office, and 国民健康保険の保険者. A row of the table matches the institutions
    holding its capacity, and only those: a capacity names exactly who the law names.
    """

    MUNICIPALITY_HEAD = "municipality_head", "市町村長 (Mayor of a municipality)"
    WELFARE_AUTHORITY = (
        "welfare_authority",
        ("都道府県知事等（保護の実施機関等） (Governor, or mayor with a welfare office)"),
    )
    PREFECTURE_GOVERNOR = "prefecture_governor", "都道府県知事 (Prefectural governor)"
    # 大都市等の特例 (地方自治法第252条の19): a designated city's mayor does what the governor
    # does for some affairs (小児慢性特定疾病, 精神障害者保健福祉手帳, 手帳の交付 …).
    GOVERNOR_OR_DESIGNATED_CITY = (
        "governor_or_designated_city",
        ("都道府県知事・指定都市の長（大都市等の特例） (Governor, or mayor of a designated city)"),
    )
    BOARD_OF_EDUCATION = "board_of_education", "教育委員会 (Board of education)"
    PUBLIC_HOUSING_OPERATOR = (
        "public_housing_operator",
        ("公営住宅の事業主体 (Operator of public housing)"),
    )
    NHI_INSURER = "nhi_insurer", "国民健康保険の保険者 (National Health Insurance insurer)"
    EMPLOYEE_HEALTH_INSURER = (
        "employee_health_insurer",
        ("被用者保険の保険者（協会けんぽ・健保組合） (Employees' health insurer)"),
    )
    MEDICAL_INSURER = (
        "medical_insurer",
        ("医療保険者（後期高齢者医療広域連合を含む） (Medical insurer)"),
    )
    ELDERLY_MEDICAL_UNION = (
        "elderly_medical_union",
        ("後期高齢者医療広域連合 (Late-stage elderly medical care union)"),
    )
    PENSION_SERVICE = "pension_service", "日本年金機構 (Japan Pension Service)"
    EMPLOYMENT_SECURITY = (
        "employment_security",
        (
            "厚生労働大臣（雇用保険・公共職業安定所） (Minister of Health, Labour and Welfare: "
            "employment insurance)"
        ),
    )
    JUSTICE_MINISTER = "justice_minister", "法務大臣 (Minister of Justice)"
    PUBLIC_FUNDS_ACCOUNT_REGISTRY = (
        "public_funds_account_registry",
        ("内閣総理大臣（公金受取口座登録簿） (Prime Minister: public funds receiving accounts)"),
    )
    STUDENT_SUPPORT = (
        "student_support",
        ("独立行政法人日本学生支援機構 (Japan Student Services Organization)"),
    )


def validate_capacities(value: object) -> None:
    """A list of distinct Capacity codes."""
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise ValidationError("権限は文字列のリストです。 (Capacities are a list of codes.)")
    unknown = set(value) - set(Capacity.values)
    if unknown or len(set(value)) != len(value):
        raise ValidationError("不明または重複した権限があります。 (Unknown or repeated capacity.)")


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
        verbose_name="団体 (Organisation)",
    )
    code = models.CharField("機関コード (Institution code)", max_length=16, unique=True)
    kind = models.CharField("区分 (Kind)", max_length=24, choices=InstitutionKind.choices)
    name = models.CharField("名称 (Name)", max_length=100)
    capacities = models.JSONField(
        "権限 (Capacities)",
        default=list,
        blank=True,
        validators=[validate_capacities],
        help_text="別表第二で照会者・提供者として名指される立場 (the capacities the permitted "
        "table names it in)",
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged",
        verbose_name="統合先 (Merged into)",
    )

    class Meta:
        verbose_name = "機関 (Institution)"
        verbose_name_plural = "機関 (Institutions)"
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
        verbose_name="機関 (Institution)",
    )
    code = models.CharField("部署コード (Department code)", max_length=20)
    name = models.CharField("名称 (Name)", max_length=100)

    class Meta:
        verbose_name = "課 (Department)"
        verbose_name_plural = "課 (Departments)"
        constraints = [
            models.UniqueConstraint(fields=["institution", "code"], name="department_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.institution} {self.name}"


class LegalBasis(models.TextChoices):
    STATUTORY = "statutory", "法定事務 (Statutory affair)"
    INDEPENDENT = "independent", "独自利用事務 (Independent-use affair)"


class Affair(models.Model):
    """事務 (事務手続): a legal procedure for which My Number data may be used.

    A statutory affair (法定事務) rests on a row of the permitted table (別表第二 / 主務省令);
    an independent-use affair (独自利用事務) rests on a local ordinance and may use the network
    only once it has been notified (届出) to the privacy commission.
    """

    code = models.CharField(
        "事務手続コード (Affair code)",
        max_length=16,
        unique=True,
        validators=[validate_affair_code],
    )
    name = models.CharField("名称 (Name)", max_length=200)
    basis = models.CharField("根拠 (Legal basis)", max_length=12, choices=LegalBasis.choices)
    statute = models.CharField("根拠法令 (Statute)", max_length=200, blank=True)
    table_row = models.CharField("別表第二の項 (Table row)", max_length=10, blank=True)
    owner_organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="independent_affairs",
        verbose_name="条例制定団体 (Ordinance owner)",
        help_text="独自利用事務のみ (independent-use affairs only)",
    )
    ordinance = models.CharField("条例 (Ordinance)", max_length=200, blank=True)
    notification_number = models.CharField("届出番号 (Notification no.)", max_length=40, blank=True)
    notified_on = models.DateField("届出日 (Notified on)", null=True, blank=True)

    class Meta:
        verbose_name = "事務 (Affair)"
        verbose_name_plural = "事務 (Affairs)"
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
        "特定個人情報名コード (Item code)",
        max_length=16,
        unique=True,
        validators=[validate_item_code],
    )
    name = models.CharField("名称 (Name)", max_length=200)
    category = models.CharField("情報区分 (Category)", max_length=60)
    consent_affairs = models.ManyToManyField(
        Affair,
        blank=True,
        related_name="consent_items",
        verbose_name="本人同意が必要な事務 (Affairs needing consent)",
    )

    class Meta:
        verbose_name = "特定個人情報 (Information item)"
        verbose_name_plural = "特定個人情報 (Information items)"
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
        verbose_name="情報照会者 (Requester)",
    )
    requester_capacity = models.CharField(
        "照会者の権限 (Requester capacity)", max_length=40, choices=Capacity.choices, blank=True
    )
    affair = models.ForeignKey(
        Affair, on_delete=models.PROTECT, related_name="rules", verbose_name="事務 (Affair)"
    )
    provider_institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="情報提供者 (Provider)",
    )
    provider_capacity = models.CharField(
        "提供者の権限 (Provider capacity)", max_length=40, choices=Capacity.choices, blank=True
    )
    item = models.ForeignKey(
        InformationItem,
        on_delete=models.PROTECT,
        related_name="rules",
        verbose_name="特定個人情報 (Item)",
    )
    valid_from = models.DateField("適用開始日 (Valid from)")
    valid_to = models.DateField("適用終了日 (Valid to)", null=True, blank=True)
    table_row = models.CharField("項 (Row)", max_length=10, blank=True)
    source = models.CharField("出典 (Source)", max_length=300, blank=True)

    class Meta:
        verbose_name = "連携許可 (Permitted linkage)"
        verbose_name_plural = "連携許可表 (Permitted table)"
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
        verbose_name="条例制定団体 (Organisation)",
    )
    affair = models.ForeignKey(
        Affair,
        on_delete=models.PROTECT,
        related_name="ordinance_uses",
        verbose_name="利用する事務 (Using affair)",
    )
    item = models.ForeignKey(
        InformationItem,
        on_delete=models.PROTECT,
        related_name="ordinance_rules",
        verbose_name="特定個人情報 (Item)",
    )
    from_affair = models.ForeignKey(
        Affair,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ordinance_sources",
        verbose_name="提供する事務 (Providing affair)",
        help_text="空欄は住民基本台帳など事務でない台帳 (empty: a register that is no affair)",
    )
    ordinance = models.CharField("条例の条項 (Ordinance provision)", max_length=200)
    valid_from = models.DateField("適用開始日 (Valid from)")
    valid_to = models.DateField("適用終了日 (Valid to)", null=True, blank=True)

    class Meta:
        verbose_name = "庁内利用の条例 (Ordinance on internal use)"
        verbose_name_plural = "庁内利用の条例 (Ordinance table)"
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
    MALE = "1", "男 (Male)"
    FEMALE = "2", "女 (Female)"


class Household(models.Model):
    """世帯: the people registered at one address under one head (住民票の世帯)."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="households",
        verbose_name="住所地の団体 (Municipality)",
    )
    number = models.CharField("世帯番号 (Household no.)", max_length=20)
    address = models.CharField("住所 (Address)", max_length=200)

    class Meta:
        verbose_name = "世帯 (Household)"
        verbose_name_plural = "世帯 (Households)"
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

    public_id = models.UUIDField(
        "公開ID (Public id)", default=uuid.uuid4, unique=True, editable=False
    )
    family_name = models.CharField("氏 (Family name)", max_length=40)
    given_name = models.CharField("名 (Given name)", max_length=40)
    family_name_kana = models.CharField("氏（カナ） (Family name, kana)", max_length=60)
    given_name_kana = models.CharField("名（カナ） (Given name, kana)", max_length=60)
    sex = models.CharField("性別 (Sex)", max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField("生年月日 (Date of birth)")
    postal_code = models.CharField("郵便番号 (Postal code)", max_length=8, blank=True)
    address = models.CharField("住所 (Address)", max_length=200)
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name="世帯 (Household)",
    )
    relationship = models.CharField("続柄 (Relation to head)", max_length=20, blank=True)

    my_number_ciphertext = models.BinaryField(
        "個人番号（暗号文） (My Number, encrypted)", null=True, editable=False
    )
    my_number_key_id = models.CharField(
        "暗号鍵ID (Key id)", max_length=16, blank=True, editable=False
    )
    # NULL (no number registered) never collides in the unique index; "" would.
    my_number_index = models.CharField(  # noqa: DJ001
        "検索用索引 (Blind index)", max_length=64, null=True, unique=True, editable=False
    )

    disclosure_protected = models.BooleanField(
        "不開示対象 (Protected from disclosure)", default=False
    )
    protection_reason = models.CharField(
        "不開示理由 (Protection reason)", max_length=100, blank=True
    )
    protected_from = models.DateField("不開示開始日 (Protected from)", null=True, blank=True)
    protected_until = models.DateField("不開示終了日 (Protected until)", null=True, blank=True)

    class Meta:
        verbose_name = "住民 (Person)"
        verbose_name_plural = "住民 (Persons)"
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
        verbose_name="団体 (Organisation)",
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="addressee_numbers",
        verbose_name="住民 (Person)",
    )
    number = models.CharField("団体内統合宛名番号 (Addressee no.)", max_length=15)

    class Meta:
        verbose_name = "団体内統合宛名番号 (Addressee number)"
        verbose_name_plural = "団体内統合宛名番号 (Addressee numbers)"
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
        verbose_name="機関 (Institution)",
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="tokens", verbose_name="住民 (Person)"
    )
    token = models.CharField("符号 (Token)", max_length=32, unique=True)
    issued_at = models.DateTimeField("取得日時 (Issued at)", default=timezone.now)

    class Meta:
        verbose_name = "符号 (Institution token)"
        verbose_name_plural = "符号 (Institution tokens)"
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
        verbose_name="情報提供者 (Provider)",
    )
    token = models.ForeignKey(
        InstitutionToken,
        on_delete=models.PROTECT,
        related_name="provision_copies",
        verbose_name="符号 (Token)",
    )
    item = models.ForeignKey(
        InformationItem,
        on_delete=models.PROTECT,
        related_name="provision_copies",
        verbose_name="特定個人情報 (Item)",
    )
    payload = models.JSONField("内容 (Payload)")
    updated_at = models.DateTimeField("更新日時 (Updated at)", default=timezone.now)
    manual_answer = models.BooleanField("手動応答 (Manual answer)", default=False)
    nondisclosure = models.BooleanField("不開示 (Not disclosed)", default=False)

    class Meta:
        verbose_name = "副本 (Provision copy)"
        verbose_name_plural = "副本 (Provision copies)"
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
        Affair, on_delete=models.PROTECT, related_name="cases", verbose_name="事務 (Affair)"
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name="担当課 (Department)",
    )
    reference = models.CharField("受付番号 (Reference no.)", max_length=40)
    applicant = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="cases_as_applicant",
        verbose_name="申請者 (Applicant)",
    )
    members: models.ManyToManyField[Person, CaseMember] = models.ManyToManyField(
        Person,
        through="CaseMember",
        related_name="cases",
        verbose_name="世帯員 (Household members)",
    )
    opened_by = models.ForeignKey(
        "StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opened_cases",
        verbose_name="受付者 (Opened by)",
    )
    opened_at = models.DateTimeField("受付日時 (Opened at)", default=timezone.now)
    closed_at = models.DateTimeField("完結日時 (Closed at)", null=True, blank=True)

    class Meta:
        verbose_name = "案件 (Case)"
        verbose_name_plural = "案件 (Cases)"
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

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_members")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    role = models.CharField("続柄 (Role)", max_length=20, default="本人")

    class Meta:
        verbose_name = "案件の世帯員 (Case member)"
        verbose_name_plural = "案件の世帯員 (Case members)"
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="case_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.role}"


class Consent(models.Model):
    """本人同意: a person's consent that an institution query an item for an affair."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="consents", verbose_name="本人 (Person)"
    )
    affair = models.ForeignKey(
        Affair, on_delete=models.PROTECT, related_name="consents", verbose_name="事務 (Affair)"
    )
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="consents",
        verbose_name="情報照会者 (Requester)",
    )
    item = models.ForeignKey(
        InformationItem,
        on_delete=models.PROTECT,
        related_name="consents",
        verbose_name="特定個人情報 (Item)",
    )
    valid_from = models.DateField("有効期間開始 (Valid from)")
    valid_to = models.DateField("有効期間終了 (Valid to)", null=True, blank=True)
    document_reference = models.CharField("同意書番号 (Document ref.)", max_length=60)
    withdrawn_at = models.DateTimeField("撤回日時 (Withdrawn at)", null=True, blank=True)

    class Meta:
        verbose_name = "本人同意 (Consent)"
        verbose_name_plural = "本人同意 (Consents)"
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
    CLERK = "clerk", "担当者 (Clerk)"
    SUPERVISOR = "supervisor", "所属長 (Supervisor)"
    PROVIDER_OPERATOR = "provider_operator", "提供担当 (Provider operator)"


class StaffMember(models.Model):
    """職員: a user who works for one institution and department on the affairs assigned to
    them. audit_pseudonym is what the ledger records instead of the name; person links the
    staff member to their own resident record, which misuse detection needs."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="staff_member",
        verbose_name="ユーザー (User)",
    )
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name="機関 (Institution)",
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="staff", verbose_name="課 (Department)"
    )
    assigned_affairs = models.ManyToManyField(
        Affair, blank=True, related_name="staff", verbose_name="担当事務 (Assigned affairs)"
    )
    role = models.CharField(
        "役割 (Role)", max_length=20, choices=StaffRole.choices, default=StaffRole.CLERK
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_roles",
        verbose_name="本人の住民記録 (Own resident record)",
    )
    audit_pseudonym = models.CharField(
        "監査用仮名 (Audit pseudonym)",
        max_length=32,
        unique=True,
        editable=False,
        default=new_staff_pseudonym,
    )

    class Meta:
        verbose_name = "職員 (Staff member)"
        verbose_name_plural = "職員 (Staff members)"

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.institution})"


class AgencySystem(models.Model):
    """業務システム: an institution's API client. The API key is shown once at creation and
    stored only as its SHA-256 (the key is 256 random bits, so a slow hash adds nothing)."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="systems",
        verbose_name="機関 (Institution)",
    )
    name = models.CharField("システム名 (System name)", max_length=100)
    key_prefix = models.CharField("鍵の先頭 (Key prefix)", max_length=12, unique=True)
    key_hash = models.CharField(
        "鍵のハッシュ (Key hash)", max_length=64, unique=True, editable=False
    )
    is_active = models.BooleanField("有効 (Active)", default=True)
    created_at = models.DateTimeField("作成日時 (Created at)", default=timezone.now)
    last_used_at = models.DateTimeField("最終利用日時 (Last used)", null=True, blank=True)

    class Meta:
        verbose_name = "業務システム (Agency system)"
        verbose_name_plural = "業務システム (Agency systems)"

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
        verbose_name="職員 (Staff member)",
    )
    prefix = models.CharField("先頭 (Prefix)", max_length=12, unique=True)
    token_hash = models.CharField("ハッシュ (Hash)", max_length=64, unique=True, editable=False)
    issued_at = models.DateTimeField("発行日時 (Issued at)", default=timezone.now)
    revoked_at = models.DateTimeField("失効日時 (Revoked at)", null=True, blank=True)

    class Meta:
        verbose_name = "操作者証明 (Operator credential)"
        verbose_name_plural = "操作者証明 (Operator credentials)"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.staff})"


class LinkageStatus(models.TextChoices):
    PROVIDED = "provided", "提供済み (Provided)"
    NOT_FOUND = "not_found", "該当なし (No data held)"
    REFUSED = "refused", "拒否 (Refused by the network)"
    HELD = "held", "保留 (Held for a manual answer)"
    RELEASED = "released", "手動提供 (Released manually)"
    DECLINED = "declined", "不提供 (Declined)"


class LinkageRequest(models.Model):
    """情報照会: one request of an institution for an item about a person, through the network.

    request_id is the requester's own id; a request id is answered once. The subject is held
    here as a Person for the service's own use; the ledger records only its pseudonym.
    """

    request_id = models.UUIDField("照会番号 (Request id)", unique=True)
    kind = models.CharField(
        "種別 (Kind)",
        max_length=12,
        choices=[("network", "情報連携 (Network)"), ("internal", "庁内連携 (Internal)")],
        default="network",
    )
    requester = models.ForeignKey(
        Institution,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="requests_made",
        verbose_name="情報照会者 (Requester)",
    )
    provider = models.ForeignKey(
        Institution,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="requests_received",
        verbose_name="情報提供者 (Provider)",
    )
    staff = models.ForeignKey(
        StaffMember,
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name="職員 (Staff)",
        db_index=False,
    )
    affair = models.ForeignKey(
        Affair,
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name="事務 (Affair)",
        db_index=False,
    )
    from_affair = models.ForeignKey(
        Affair,
        db_index=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="移転元の事務 (Providing affair, 庁内連携)",
    )
    item = models.ForeignKey(
        InformationItem,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name="特定個人情報 (Item)",
    )
    case = models.ForeignKey(
        Case,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
        verbose_name="案件 (Case)",
    )
    subject = models.ForeignKey(
        Person,
        db_index=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="本人 (Subject)",
    )
    terminal = models.CharField("端末 (Terminal)", max_length=32, blank=True)
    status = models.CharField("結果 (Outcome)", max_length=12, choices=LinkageStatus.choices)
    reason = models.CharField("理由コード (Reason)", max_length=48, blank=True)
    nondisclosure = models.BooleanField("不開示 (Not disclosed)", default=False)
    payload = models.JSONField("提供内容 (Answer)", null=True, blank=True)
    requested_at = models.DateTimeField("照会日時 (Requested at)")
    answered_at = models.DateTimeField("回答日時 (Answered at)", null=True, blank=True)
    answered_by = models.ForeignKey(
        StaffMember,
        db_index=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="手動回答者 (Answered by)",
    )

    class Meta:
        verbose_name = "情報照会 (Linkage request)"
        verbose_name_plural = "情報照会 (Linkage requests)"
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
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.status}"
