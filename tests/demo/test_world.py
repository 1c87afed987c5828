"""seed_demo: the demo world's shape, determinism, idempotence and My Number hygiene."""

from __future__ import annotations

import datetime as dt
import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F

from agencies.codes import my_number_check_digit
from agencies.models import (
    AddresseeNumber,
    Affair,
    AgencySystem,
    Case,
    CaseMember,
    Consent,
    Household,
    InformationItem,
    Institution,
    InstitutionKind,
    InstitutionToken,
    LegalBasis,
    LinkageRule,
    Organization,
    OrganizationKind,
    Person,
    ProvisionCopy,
    StaffMember,
    StaffRole,
)
from agencies.mynumber_crypto import blind_index, decrypt_my_number
from agencies.selectors import staff_by_credential
from agencies.services import token_build

pytestmark = pytest.mark.django_db

RESIDENTS = 200


def seed(tmp_path: Path, *, seed: int = 7, residents: int = RESIDENTS) -> str:
    out = io.StringIO()
    call_command(
        "seed_demo",
        seed=seed,
        residents=residents,
        no_progress=True,
        api_keys_file=tmp_path / "demo_api_keys.txt",
        stdout=out,
    )
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = list(apps.get_app_config("agencies").get_models())
    models += [get_user_model(), apps.get_model("auth", "Group")]
    return {m._meta.label: m._default_manager.count() for m in models}


@pytest.fixture
def world(tmp_path: Path) -> str:
    return seed(tmp_path)


def test_institutions_affairs_and_permitted_table(world: str) -> None:
    orgs = Organization.objects.all()
    assert orgs.count() >= 8
    assert set(orgs.values_list("kind", flat=True)) == set(OrganizationKind.values)
    prefecture_kinds = set(
        Institution.objects.filter(organization__kind=OrganizationKind.PREFECTURE).values_list(
            "kind", flat=True
        )
    )
    assert {InstitutionKind.PREFECTURE_HEAD, InstitutionKind.BOARD_OF_EDUCATION} <= prefecture_kinds
    assert set(Institution.objects.values_list("kind", flat=True)) == set(InstitutionKind.values)
    assert all(len(code) == 16 for code in Institution.objects.values_list("code", flat=True))

    statutory = Affair.objects.filter(basis=LegalBasis.STATUTORY)
    independent = Affair.objects.filter(basis=LegalBasis.INDEPENDENT)
    assert statutory.count() + independent.count() >= 20
    assert statutory.count() >= 10 and independent.count() >= 5
    assert independent.filter(notified_on__isnull=True).exists()  # linkage must be refused
    assert independent.filter(notified_on__isnull=False).count() > independent.count() // 2
    today = dt.date.today()
    assert not any(a.linkage_allowed_on(today) for a in independent.filter(notified_on=None))
    assert all(a.rules.exists() for a in Affair.objects.all())

    assert InformationItem.objects.count() >= 12
    tax = InformationItem.objects.get(name="地方税関係情報")
    assert tax.consent_affairs.filter(table_row="106").exists()  # the confirmed consent row

    rules = LinkageRule.objects.all()
    assert rules.count() >= 60
    assert rules.filter(table_row="74").exists() and rules.filter(table_row="16の2").exists()
    assert rules.filter(valid_to__lt=today).exists()  # an expired combination
    assert not rules.filter(valid_to__isnull=False, valid_to__lt=F("valid_from")).exists()
    assert rules.filter(requester_institution__isnull=True, provider_institution__isnull=True)
    assert rules.count() == rules.filter(requester_institution__isnull=True).count()


def test_residents_households_tokens_and_copies(world: str) -> None:
    assert Person.objects.count() == RESIDENTS
    assert not Person.objects.filter(household__isnull=True).exists()
    sizes = list(Household.objects.annotate(n=Count("members")).values_list("n", flat=True))
    assert max(sizes) > 1 and min(sizes) >= 1 and max(sizes) <= 6
    assert Person.objects.filter(relationship="子").exists()
    # Each resident is numbered by their municipality, and by every other organisation whose
    # records hold them (a 符号 at one of its institutions).
    municipal = AddresseeNumber.objects.filter(organization__kind="municipality")
    assert municipal.count() == RESIDENTS
    assert municipal.values("person").distinct().count() == RESIDENTS
    for number in AddresseeNumber.objects.exclude(organization__kind="municipality")[:200]:
        assert number.person.tokens.filter(
            institution__organization_id=number.organization_id
        ).exists()
    assert all(
        len(n) == 15 and n.isdigit()
        for n in AddresseeNumber.objects.values_list("number", flat=True)
    )

    # every person has 符号 at several institutions, exactly what token_build derives
    per_person = InstitutionToken.objects.values("person").annotate(n=Count("id"))
    assert per_person.count() == RESIDENTS and min(row["n"] for row in per_person) >= 5
    for token in InstitutionToken.objects.select_related("institution", "person")[:50]:
        expected = token_build(institution=token.institution, person=token.person).token
        assert token.token == expected

    copies = ProvisionCopy.objects.select_related("token", "item")
    assert copies.count() > RESIDENTS
    assert not copies.exclude(token__institution=F("institution")).exists()
    assert {"住民票関係情報", "地方税関係情報", "医療保険給付関係情報"} <= set(
        copies.values_list("item__name", flat=True)
    )
    tax_copy = copies.filter(item__name="地方税関係情報").first()
    assert {"年度", "課税区分", "市町村民税所得割額"} <= set(tax_copy.payload)
    assert copies.filter(manual_answer=True).exists()

    protected = Person.objects.filter(disclosure_protected=True)
    assert protected.count() >= 3
    for person in protected:
        assert person.protection_reason == "DV等支援措置"
        assert person.protected_from and person.protected_until
        assert person.protected_until > person.protected_from
    current = [p.pk for p in protected if p.is_protected_on(dt.date.today())]
    assert current
    dv_copies = copies.filter(token__person__in=current)
    assert dv_copies.exists() and not dv_copies.filter(nondisclosure=False).exists()


def test_staff_cases_consents_and_systems(world: str, tmp_path: Path) -> None:
    staff = StaffMember.objects.select_related("institution", "department")
    assert staff.count() >= 50
    assigned = staff.annotate(n=Count("assigned_affairs")).filter(n__gt=0)
    assert assigned.count() >= 20
    assert staff.filter(person__isnull=False).exists()
    for member in assigned.prefetch_related("assigned_affairs")[:40]:
        assert member.department.institution_id == member.institution_id
        for affair in member.assigned_affairs.all():
            capacities = set(affair.rules.values_list("requester_capacity", flat=True))
            assert capacities & set(member.institution.capacities), (member, affair)

    users = get_user_model().objects
    assert users.get(username="admin").is_superuser
    auditor = users.get(username="auditor")
    assert auditor.is_staff and auditor.groups.filter(name="auditors").exists()
    # Sapporo's privacy officer audits that city's entries on the dashboard (appointed on the
    # ledger like any change of who may see what).
    officer = users.get(username="privacy.sapporo")
    from detection.models import PrivacyOfficer

    assert PrivacyOfficer.objects.get(user=officer).organization.code == "011002"
    assert officer.check_password("yaritori-demo") and "privacy.sapporo" in world
    assert users.get(username="admin").check_password("yaritori-demo")
    assert "sapporo." in world and "yaritori-demo" in world

    cases = Case.objects.all()
    assert cases.filter(closed_at__isnull=True).exists()
    assert cases.filter(closed_at__isnull=False).exists()
    for case in cases.select_related("opened_by")[:50]:
        members = set(CaseMember.objects.filter(case=case).values_list("person_id", flat=True))
        assert case.applicant_id in members
        assert case.opened_by.department_id == case.department_id
    assert CaseMember.objects.count() > cases.count()  # households, not just applicants

    consents = Consent.objects.select_related("affair", "item")
    assert consents.exists()
    tax = InformationItem.objects.get(name="地方税関係情報")
    consent_affairs = set(tax.consent_affairs.values_list("pk", flat=True))
    assert all(c.item_id == tax.pk and c.affair_id in consent_affairs for c in consents)

    keys = (tmp_path / "demo_api_keys.txt").read_text().splitlines()
    systems = [line.split("\t") for line in keys if line.startswith("system\t")]
    operators = [line.split("\t") for line in keys if line.startswith("operator\t")]
    assert len(systems) == AgencySystem.objects.count() > 0
    assert stat.S_IMODE((tmp_path / "demo_api_keys.txt").stat().st_mode) == 0o600
    assert not any(fields[3] in world for fields in systems + operators)  # keys not printed
    # Every system has an operator whose own credential works for its institution.
    assert {fields[1] for fields in operators} == {fields[1] for fields in systems}
    for _, code, username, secret in operators:
        found = staff_by_credential(
            institution=Institution.objects.get(code=code), credential=secret
        )
        assert found is not None and found.user.username == username


def test_my_numbers_are_sealed_valid_and_never_shown(world: str, tmp_path: Path) -> None:
    numbers = set()
    for person in Person.objects.all():
        number = decrypt_my_number(
            person.my_number_key_id,
            person.my_number_ciphertext,
            person_public_id=str(person.public_id),
        )
        assert len(number) == 12 and number.isdigit()
        assert int(number[11]) == my_number_check_digit(number[:11])
        assert person.my_number_index == blind_index(number)
        numbers.add(number)
    assert len(numbers) == RESIDENTS
    exposed = world + (tmp_path / "demo_api_keys.txt").read_text()
    exposed += json.dumps(list(ProvisionCopy.objects.values_list("payload", flat=True)))
    assert not any(number in exposed for number in numbers)


def test_second_run_changes_nothing(world: str, tmp_path: Path) -> None:
    before = row_counts()
    output = seed(tmp_path)
    assert "already present" in output
    assert row_counts() == before


def test_same_seed_same_world(tmp_path: Path) -> None:
    def snapshot(seed_value: int) -> list[tuple[Any, ...]]:
        with transaction.atomic():  # a fresh database each time: everything is rolled back
            seed(tmp_path, seed=seed_value, residents=60)
            rows = list(
                Person.objects.order_by("pk").values_list(
                    "public_id", "family_name", "given_name", "date_of_birth", "address"
                )[:20]
            )
            transaction.set_rollback(True)
        return rows

    first = snapshot(11)
    assert not Organization.objects.exists()
    assert snapshot(11) == first
    assert snapshot(12) != first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"residents": -5}, "--residents must be between"),
        ({"residents": 10}, "--residents must be between"),
        ({"seed": -1}, "--seed must be 0 or more"),
    ],
)
def test_bad_arguments(args: dict[str, int], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", no_progress=True, **args)
    assert not Organization.objects.exists()


def test_if_empty_leaves_a_used_database_alone(tmp_path: Path) -> None:
    Organization.objects.create(code="011002", kind=OrganizationKind.MUNICIPALITY, name="札幌市")
    out = io.StringIO()
    call_command("seed_demo", if_empty=True, no_progress=True, stdout=out)
    assert "not loaded" in out.getvalue()
    assert Organization.objects.count() == 1


@pytest.mark.slow
def test_every_clerk_of_the_tour_can_send_a_query_that_gets_an_answer(tmp_path: Path) -> None:
    """From one of their open cases, each clerk of the tour has a query the network answers
    with data: national bodies and prefectures name people by the numbers of their own
    records, as municipalities do. (A world of make run's size: a small town has too few
    residents in a smaller one.)"""
    seed(tmp_path, seed=0, residents=2000)
    import uuid

    from django.utils import timezone

    from agencies import selectors
    from agencies.network.rules import permitted_routes
    from agencies.network.services import linkage_request_send
    from demo.logins import demo_logins

    clerks = StaffMember.objects.filter(
        user__username__in=[username for username, _ in demo_logins()], role=StaffRole.CLERK
    ).select_related("institution__organization", "department")
    assert clerks.count() >= 8
    kinds = set()
    for staff in clerks:
        routes = permitted_routes(
            requester=staff.institution,
            affairs=list(staff.assigned_affairs.all()),
            day=timezone.localdate(),
        )
        answered = False
        for case in selectors.cases_of_staff(staff=staff, open_only=True)[:30]:
            numbers = selectors.addressee_numbers_of(
                organization_id=staff.institution.organization_id,
                person_ids=case.case_members.values_list("person_id", flat=True),
            )
            for route in (r for r in routes if r.affair.pk == case.affair_id):
                for number in numbers.values():
                    outcome = linkage_request_send(
                        staff=staff,
                        request_id=uuid.uuid4(),
                        affair=route.affair,
                        item=route.item,
                        provider=route.provider,
                        case=case,
                        addressee_number=number,
                    )
                    if outcome.request.status == "provided":
                        answered = True
                        break
                if answered:
                    break
            if answered:
                break
        assert answered, staff
        kinds.add(staff.institution.organization.kind)
    assert {"municipality", "prefecture", "national", "insurer"} <= kinds
