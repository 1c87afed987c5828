"""Fixtures for the linkage-network tests: a small world built with factories."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection

from agencies.models import (
    AddresseeNumber,
    Capacity,
    InstitutionKind,
    LegalBasis,
    LinkageRule,
    OrdinanceRule,
    ProvisionCopy,
    StaffRole,
)
from agencies.network.rules import clear_rules_cache
from tests.support.factories import (
    AffairFactory,
    DepartmentFactory,
    InstitutionFactory,
    ItemFactory,
    OrganizationFactory,
    PersonFactory,
    StaffFactory,
    issue_token,
    my_number_for,
)


@pytest.fixture
def world(db):
    """A city (mayor's office and board of education) asking the pension service, its own
    board of education and a neighbouring city's mayor."""
    clear_rules_cache()
    city = OrganizationFactory(code="011002", name="札幌市")
    mayor = InstitutionFactory(
        organization=city, kind=InstitutionKind.MUNICIPALITY_HEAD, code="0110020000000001"
    )
    board = InstitutionFactory(
        organization=city, kind=InstitutionKind.BOARD_OF_EDUCATION, code="0110020000000002"
    )
    # Another city's mayor: where a resident who moved in was taxed (the network links
    # different institutions; the city's own data reaches its affairs by 庁内連携).
    neighbour = InstitutionFactory(
        organization=OrganizationFactory(code="012025", name="函館市"),
        kind=InstitutionKind.MUNICIPALITY_HEAD,
        code="0120250000000001",
    )
    pension = InstitutionFactory(
        organization=OrganizationFactory(code="990015", kind="national"),
        kind=InstitutionKind.PENSION_SERVICE,
        code="9900150000000001",
    )
    affair = AffairFactory(code="JT01010000000214", name="児童手当の認定")
    school = AffairFactory(code="JT02020000000001", name="就学援助")
    unnotified = AffairFactory(
        code="JT09090000000009", basis=LegalBasis.INDEPENDENT, owner_organization=city
    )
    tax = ItemFactory(code="TM00000000000003", name="地方税関係情報")
    tax.consent_affairs.add(school)
    pension_item = ItemFactory(code="TM00000000000002", name="年金給付関係情報")
    resident_item = ItemFactory(code="TM00000000000004", name="住民票関係情報")
    day0 = dt.date(2017, 11, 13)
    for affair_, provider_capacity, item in [
        (affair, Capacity.PENSION_SERVICE, pension_item),
        (affair, Capacity.BOARD_OF_EDUCATION, resident_item),
        (school, Capacity.MUNICIPALITY_HEAD, tax),
        (unnotified, Capacity.PENSION_SERVICE, pension_item),
    ]:
        LinkageRule.objects.create(
            requester_capacity=Capacity.MUNICIPALITY_HEAD,
            affair=affair_,
            provider_capacity=provider_capacity,
            item=item,
            valid_from=day0,
        )
    LinkageRule.objects.create(
        requester_capacity=Capacity.MUNICIPALITY_HEAD,
        affair=affair,
        provider_capacity=Capacity.PENSION_SERVICE,
        item=tax,
        valid_from=day0,
        valid_to=dt.date(2019, 9, 30),
    )
    person = PersonFactory(my_number=my_number_for(1))
    AddresseeNumber.objects.create(organization=city, person=person, number="000000000012345")
    for institution in (mayor, board, pension, neighbour):
        issue_token(institution, person)
    ProvisionCopy.objects.create(
        institution=pension,
        item=pension_item,
        token=person.tokens.get(institution=pension),
        payload={"年金種別": "老齢基礎年金", "年額": 780000},
    )
    ProvisionCopy.objects.create(
        institution=board,
        item=resident_item,
        token=person.tokens.get(institution=board),
        payload={"世帯員数": 3},
        manual_answer=True,
    )
    # The mayor's own register (住民票関係情報), and the city's ordinance that lets school aid
    # use it, as it comes from the 児童手当 affair, inside the mayor's institution (庁内連携).
    ProvisionCopy.objects.create(
        institution=mayor,
        item=resident_item,
        token=person.tokens.get(institution=mayor),
        payload={"世帯員数": 3, "続柄": "世帯主"},
    )
    ordinance = OrdinanceRule.objects.create(
        organization=city,
        affair=school,
        item=resident_item,
        from_affair=affair,
        ordinance="札幌市番号条例 第4条第2項",
        valid_from=day0,
    )
    clerk = StaffFactory(
        department=DepartmentFactory(institution=mayor), affairs=[affair, school, unnotified]
    )
    pension_clerk = StaffFactory(
        department=DepartmentFactory(institution=pension), role=StaffRole.PROVIDER_OPERATOR
    )
    board_clerk = StaffFactory(
        department=DepartmentFactory(institution=board), role=StaffRole.PROVIDER_OPERATOR
    )
    return SimpleNamespace(**locals())


@pytest.fixture
def intake_refuses_inserts(db):
    """The database itself refuses every new ledger entry, as a full disk or a revoked grant
    would: a trigger, so the failure comes from the very statement that writes the entry.
    In a test's transaction it is rolled back with the test; in a transactional test it is
    dropped after."""
    if connection.vendor == "postgresql":
        ddl = [
            "CREATE FUNCTION refuse_entry() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
            "CREATE TRIGGER refuse_entry BEFORE INSERT ON audit_ledgerintake "
            "FOR EACH ROW EXECUTE FUNCTION refuse_entry()",
        ]
        undo = ["DROP TRIGGER refuse_entry ON audit_ledgerintake", "DROP FUNCTION refuse_entry()"]
    else:
        ddl = [
            "CREATE TRIGGER refuse_entry BEFORE INSERT ON audit_ledgerintake "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        ]
        undo = ["DROP TRIGGER refuse_entry"]
    rolled_back_with_the_test = connection.in_atomic_block
    with connection.cursor() as cursor:
        for statement in ddl:
            cursor.execute(statement)
    yield
    if not rolled_back_with_the_test:
        with connection.cursor() as cursor:
            for statement in undo:
                cursor.execute(statement)


def agency_client(staff, *, system_key=None):
    """An API client of staff's institution: a system key (a new system unless given) and
    the staff member's own operator credential, as a business system presents them."""
    from rest_framework.test import APIClient

    from agencies.services import agency_system_create, operator_credential_issue

    if system_key is None:
        _, system_key = agency_system_create(institution=staff.institution, name="test system")
    _, credential = operator_credential_issue(staff=staff)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {system_key}", HTTP_X_OPERATOR_CREDENTIAL=credential
    )
    client.system_key = system_key  # type: ignore[attr-defined]  # for tests that borrow it
    return client


@pytest.fixture
def api(world):
    """One API client per institution of the world (mayor, board, pension), each with its own
    system key and its operator's credential (the clerk, the board's and the pension
    service's provider operators)."""
    return {
        "mayor": agency_client(world.clerk),
        "board": agency_client(world.board_clerk),
        "pension": agency_client(world.pension_clerk),
    }
