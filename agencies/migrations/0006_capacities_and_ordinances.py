"""Institutions as the law defines them (one per 執行機関, acting in capacities), the permitted
table by capacity, the ordinance table of 庁内連携, and the withdrawal of a consent.

Existing data is carried over: a municipality's 福祉事務所 and 国民健康保険 institutions were
its mayor in other capacities, so their departments, staff, consents, systems and 副本 move
to the mayor's institution, which takes those capacities; the old rows stay, marked merged,
for the requests and ledger entries that name them. Rules get the capacities of their kinds,
exactly where the permitted table shipped with the project knows the row.
"""

import json
from pathlib import Path

import agencies.models
import django.db.models.deletion
from django.db import migrations, models

TABLE = Path(__file__).resolve().parent.parent / "data" / "permitted_table.json"

CITY = ["municipality_head", "public_housing_operator", "nhi_insurer", "medical_insurer"]
GOVERNOR = [
    "prefecture_governor",
    "governor_or_designated_city",
    "welfare_authority",
    "public_housing_operator",
]
# For bodies the old kinds did not tell apart ("national", "other"): by name.
BY_NAME = [
    ("雇用", ["employment_security"]),
    ("厚生労働", ["employment_security", "pension_service"]),
    ("法務", ["justice_minister"]),
    ("デジタル", ["public_funds_account_registry"]),
    ("内閣総理", ["public_funds_account_registry"]),
    ("学生支援", ["student_support"]),
    ("広域連合", ["elderly_medical_union", "medical_insurer"]),
]
# A rule whose row the shipped table does not know keeps the nearest capacity of its kind.
KIND_DEFAULT = {
    "municipality_head": "municipality_head",
    "prefecture_head": "welfare_authority",
    "board_of_education": "board_of_education",
    "pension_service": "pension_service",
    "health_insurer": "medical_insurer",
}


def _capacities(institution, org):
    kind = institution.kind
    if kind == "board_of_education":
        return ["board_of_education"]
    if kind == "pension_service":
        return ["pension_service"]
    if kind == "prefecture_head" and org.kind == "prefecture":
        return list(GOVERNOR)
    if kind == "health_insurer" and org.kind != "municipality":
        return ["employee_health_insurer", "medical_insurer"]
    for word, capacities in BY_NAME:
        if word in institution.name or word in org.name:
            return list(capacities)
    return []


def _merge(apps, old, head):
    """Move what old holds to head (old was head acting in another capacity)."""
    from agencies.tokens import derive_institution_token

    Department = apps.get_model("agencies", "Department")
    InstitutionToken = apps.get_model("agencies", "InstitutionToken")
    ProvisionCopy = apps.get_model("agencies", "ProvisionCopy")
    taken = set(Department.objects.filter(institution=head).values_list("code", flat=True))
    for department in Department.objects.filter(institution=old):
        if department.code in taken:
            department.code = f"{department.code}-{old.pk}"[:20]
        department.institution = head
        department.save()
    for model, field in (
        ("StaffMember", "institution"),
        ("Consent", "institution"),
        ("AgencySystem", "institution"),
        ("LinkageRule", "requester_institution"),
        ("LinkageRule", "provider_institution"),
    ):
        apps.get_model("agencies", model).objects.filter(**{field: old}).update(**{field: head})
    for copy in ProvisionCopy.objects.filter(institution=old).select_related("token__person"):
        person = copy.token.person
        token, _ = InstitutionToken.objects.get_or_create(
            institution=head,
            person=person,
            defaults={
                "token": derive_institution_token(
                    institution_code=head.code, person_public_id=str(person.public_id)
                )
            },
        )
        if ProvisionCopy.objects.filter(institution=head, token=token, item=copy.item).exists():
            copy.delete()  # the head's own copy of the same item stands
            continue
        copy.institution, copy.token = head, token
        copy.save()
    old.capacities, old.merged_into = [], head
    old.save()


def carry_existing_data(apps, schema_editor):
    Organization = apps.get_model("agencies", "Organization")
    LinkageRule = apps.get_model("agencies", "LinkageRule")
    for org in Organization.objects.all():
        institutions = list(org.institutions.all())
        if org.kind == "municipality":
            head = next((i for i in institutions if i.kind == "municipality_head"), None)
            others = [i for i in institutions if i.kind in ("prefecture_head", "health_insurer")]
            for institution in institutions:
                if institution not in others and institution is not head:
                    institution.capacities = _capacities(institution, org)
                    institution.save()
            if head is None:
                continue
            # A city that ran its own welfare office (the old 福祉事務所 institution) was, in
            # the old demo world, a designated city (大都市等の特例): elsewhere an
            # administrator corrects the capacities in the admin.
            welfare = any(i.kind == "prefecture_head" for i in others)
            head.capacities = CITY + (
                ["welfare_authority", "governor_or_designated_city"] if welfare else []
            )
            head.save()
            for old in others:
                _merge(apps, old, head)
            continue
        for institution in institutions:
            institution.capacities = _capacities(institution, org)
            institution.save()
    known = {}
    # An independent-use affair's rows copy a statutory row of the same item: where the
    # shipped table gives one capacity for that item and side kind, it is the one.
    by_item = {}
    for row in json.loads(TABLE.read_text(encoding="utf-8"))["rules"]:
        key = (row["affair"], row["item"], row["valid_from"], row["requester_kind"])
        known[(*key, row["provider_kind"])] = (row["requester_capacity"], row["provider_capacity"])
        by_item.setdefault(("R", row["item"], row["requester_kind"]), set()).add(
            row["requester_capacity"]
        )
        by_item.setdefault(("P", row["item"], row["provider_kind"]), set()).add(
            row["provider_capacity"]
        )

    def inferred(side, item, kind):
        found = by_item.get((side, item, kind), set())
        return next(iter(found)) if len(found) == 1 else KIND_DEFAULT.get(kind, "")

    for rule in LinkageRule.objects.select_related("affair", "item"):
        key = (
            rule.affair.code,
            rule.item.code,
            rule.valid_from.isoformat(),
            rule.requester_kind,
            rule.provider_kind,
        )
        requester, provider = known.get(key, (None, None))
        if rule.requester_institution_id is None:
            rule.requester_capacity = requester or inferred(
                "R", rule.item.code, rule.requester_kind
            )
        if rule.provider_institution_id is None:
            rule.provider_capacity = provider or inferred("P", rule.item.code, rule.provider_kind)
        missing = (rule.requester_institution_id is None and not rule.requester_capacity) or (
            rule.provider_institution_id is None and not rule.provider_capacity
        )
        if missing:
            # A "national" or "other" side names no capacity by itself: guessing one would
            # let the wrong bodies query. An administrator must say which.
            raise RuntimeError(
                f"permitted-table rule {rule.pk} (row {rule.table_row or '?'}): no capacity "
                f"for its {rule.requester_kind}/{rule.provider_kind} sides; name its "
                "institutions (or end it), and migrate again"
            )
        rule.save()


class Migration(migrations.Migration):

    dependencies = [
        ('agencies', '0005_operator_credential'),
    ]

    operations = [
        migrations.CreateModel(
            name='OrdinanceRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ordinance', models.CharField(max_length=200, verbose_name='条例の条項 (Ordinance provision)')),
                ('valid_from', models.DateField(verbose_name='適用開始日 (Valid from)')),
                ('valid_to', models.DateField(blank=True, null=True, verbose_name='適用終了日 (Valid to)')),
            ],
            options={
                'verbose_name': '庁内利用の条例 (Ordinance on internal use)',
                'verbose_name_plural': '庁内利用の条例 (Ordinance table)',
            },
        ),
        migrations.AddField(
            model_name='consent',
            name='withdrawn_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='撤回日時 (Withdrawn at)'),
        ),
        migrations.AddField(
            model_name='institution',
            name='capacities',
            field=models.JSONField(blank=True, default=list, help_text='別表第二で照会者・提供者として名指される立場 (the capacities the permitted table names it in)', validators=[agencies.models.validate_capacities], verbose_name='権限 (Capacities)'),
        ),
        migrations.AddField(
            model_name='institution',
            name='merged_into',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='merged', to='agencies.institution', verbose_name='統合先 (Merged into)'),
        ),
        migrations.AddField(
            model_name='linkagerule',
            name='provider_capacity',
            field=models.CharField(blank=True, choices=[('municipality_head', '市町村長 (Mayor of a municipality)'), ('welfare_authority', '都道府県知事等（保護の実施機関等） (Governor, or mayor with a welfare office)'), ('prefecture_governor', '都道府県知事 (Prefectural governor)'), ('governor_or_designated_city', '都道府県知事・指定都市の長（大都市等の特例） (Governor, or mayor of a designated city)'), ('board_of_education', '教育委員会 (Board of education)'), ('public_housing_operator', '公営住宅の事業主体 (Operator of public housing)'), ('nhi_insurer', '国民健康保険の保険者 (National Health Insurance insurer)'), ('employee_health_insurer', "被用者保険の保険者（協会けんぽ・健保組合） (Employees' health insurer)"), ('medical_insurer', '医療保険者（後期高齢者医療広域連合を含む） (Medical insurer)'), ('elderly_medical_union', '後期高齢者医療広域連合 (Late-stage elderly medical care union)'), ('pension_service', '日本年金機構 (Japan Pension Service)'), ('employment_security', '厚生労働大臣（雇用保険・公共職業安定所） (Minister of Health, Labour and Welfare: employment insurance)'), ('justice_minister', '法務大臣 (Minister of Justice)'), ('public_funds_account_registry', '内閣総理大臣（公金受取口座登録簿） (Prime Minister: public funds receiving accounts)'), ('student_support', '独立行政法人日本学生支援機構 (Japan Student Services Organization)')], max_length=40, verbose_name='提供者の権限 (Provider capacity)'),
        ),
        migrations.AddField(
            model_name='linkagerule',
            name='requester_capacity',
            field=models.CharField(blank=True, choices=[('municipality_head', '市町村長 (Mayor of a municipality)'), ('welfare_authority', '都道府県知事等（保護の実施機関等） (Governor, or mayor with a welfare office)'), ('prefecture_governor', '都道府県知事 (Prefectural governor)'), ('governor_or_designated_city', '都道府県知事・指定都市の長（大都市等の特例） (Governor, or mayor of a designated city)'), ('board_of_education', '教育委員会 (Board of education)'), ('public_housing_operator', '公営住宅の事業主体 (Operator of public housing)'), ('nhi_insurer', '国民健康保険の保険者 (National Health Insurance insurer)'), ('employee_health_insurer', "被用者保険の保険者（協会けんぽ・健保組合） (Employees' health insurer)"), ('medical_insurer', '医療保険者（後期高齢者医療広域連合を含む） (Medical insurer)'), ('elderly_medical_union', '後期高齢者医療広域連合 (Late-stage elderly medical care union)'), ('pension_service', '日本年金機構 (Japan Pension Service)'), ('employment_security', '厚生労働大臣（雇用保険・公共職業安定所） (Minister of Health, Labour and Welfare: employment insurance)'), ('justice_minister', '法務大臣 (Minister of Justice)'), ('public_funds_account_registry', '内閣総理大臣（公金受取口座登録簿） (Prime Minister: public funds receiving accounts)'), ('student_support', '独立行政法人日本学生支援機構 (Japan Student Services Organization)')], max_length=40, verbose_name='照会者の権限 (Requester capacity)'),
        ),
        migrations.AddField(
            model_name='ordinancerule',
            name='affair',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ordinance_uses', to='agencies.affair', verbose_name='利用する事務 (Using affair)'),
        ),
        migrations.AddField(
            model_name='ordinancerule',
            name='from_affair',
            field=models.ForeignKey(blank=True, help_text='空欄は住民基本台帳など事務でない台帳 (empty: a register that is no affair)', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ordinance_sources', to='agencies.affair', verbose_name='提供する事務 (Providing affair)'),
        ),
        migrations.AddField(
            model_name='ordinancerule',
            name='item',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ordinance_rules', to='agencies.informationitem', verbose_name='特定個人情報 (Item)'),
        ),
        migrations.AddField(
            model_name='ordinancerule',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ordinance_rules', to='agencies.organization', verbose_name='条例制定団体 (Organisation)'),
        ),
        migrations.AddIndex(
            model_name='ordinancerule',
            index=models.Index(fields=['organization', 'affair', 'item'], name='agencies_or_organiz_f0769b_idx'),
        ),
        migrations.AddConstraint(
            model_name='ordinancerule',
            constraint=models.CheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gte', models.F('valid_from')), _connector='OR'), name='ordinance_valid_period'),
        ),
        migrations.RemoveConstraint(
            model_name='linkagerule',
            name='rule_requester_one_of',
        ),
        migrations.RemoveConstraint(
            model_name='linkagerule',
            name='rule_provider_one_of',
        ),
        migrations.RunPython(carry_existing_data, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='linkagerule',
            name='provider_kind',
        ),
        migrations.RemoveField(
            model_name='linkagerule',
            name='requester_kind',
        ),
        migrations.AddConstraint(
            model_name='linkagerule',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('requester_institution__isnull', True), models.Q(('requester_capacity', ''), _negated=True)), models.Q(('requester_institution__isnull', False), ('requester_capacity', '')), _connector='OR'), name='rule_requester_one_of'),
        ),
        migrations.AddConstraint(
            model_name='linkagerule',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('provider_institution__isnull', True), models.Q(('provider_capacity', ''), _negated=True)), models.Q(('provider_institution__isnull', False), ('provider_capacity', '')), _connector='OR'), name='rule_provider_one_of'),
        ),
    ]
