"""A city as the law defines its institutions (札幌市長 acting in several capacities, 札幌市教育
委員会) and two national ministers, on the real permitted table shipped with the project: the
world of the tests of capacities and of 庁内連携."""

import pytest

from agencies.models import (
    AddresseeNumber,
    Affair,
    Capacity,
    InformationItem,
    InstitutionKind,
    ProvisionCopy,
)
from agencies.network.rules import clear_rules_cache
from agencies.permitted_table import permitted_table_load
from tests.support.factories import (
    DepartmentFactory,
    InstitutionFactory,
    OrganizationFactory,
    PersonFactory,
    StaffFactory,
    issue_token,
)

WELFARE = "JT01000000000009"  # 生活保護の決定・実施 (都道府県知事等)
CITY_TAX = "JT01000000000010"  # 個人住民税の賦課徴収 (市町村長)
SCHOOL_MEDICAL = "JT01000000000013"  # 要保護・準要保護児童生徒の医療費援助 (教育委員会)
TAX = "TM00000000000003"  # 地方税関係情報
RESIDENTS = "TM00000000000004"  # 住民票関係情報
UNEMPLOYMENT = "TM00000000000012"  # 失業等給付関係情報


@pytest.fixture
def sapporo(db):
    """札幌市長 (with its welfare office and NHI inside it), 札幌市教育委員会, the ministers of
    health, labour and welfare and of justice; one resident known to all of them."""
    permitted_table_load()
    clear_rules_cache()
    city = OrganizationFactory(code="011002", name="札幌市")
    mayor = InstitutionFactory(
        organization=city,
        code="0110020000000001",
        name="札幌市長",
        kind=InstitutionKind.MUNICIPALITY_HEAD,
        capacities=[
            Capacity.MUNICIPALITY_HEAD,
            Capacity.WELFARE_AUTHORITY,
            Capacity.NHI_INSURER,
            Capacity.MEDICAL_INSURER,
            Capacity.PUBLIC_HOUSING_OPERATOR,
        ],
    )
    board = InstitutionFactory(
        organization=city,
        code="0110020000000002",
        name="札幌市教育委員会",
        kind=InstitutionKind.BOARD_OF_EDUCATION,
    )
    mhlw = InstitutionFactory(
        organization=OrganizationFactory(code="990019", kind="national", name="厚生労働省"),
        code="9900190000000001",
        name="厚生労働大臣",
        kind=InstitutionKind.NATIONAL,
        capacities=[Capacity.EMPLOYMENT_SECURITY],
    )
    moj = InstitutionFactory(
        organization=OrganizationFactory(code="990035", kind="national", name="法務省"),
        code="9900350000000001",
        name="法務大臣",
        kind=InstitutionKind.NATIONAL,
        capacities=[Capacity.JUSTICE_MINISTER],
    )
    affairs = Affair.objects.in_bulk(field_name="code")
    items = InformationItem.objects.in_bulk(field_name="code")
    person = PersonFactory()
    AddresseeNumber.objects.create(organization=city, person=person, number="100000001")
    for institution in (mayor, board, mhlw, moj):
        issue_token(institution, person)
    ProvisionCopy.objects.create(
        institution=mayor,
        item=items[TAX],
        token=person.tokens.get(institution=mayor),
        payload={"課税年度": 2026, "総所得金額": 1_200_000},
    )
    ProvisionCopy.objects.create(
        institution=mayor,
        item=items[RESIDENTS],
        token=person.tokens.get(institution=mayor),
        payload={"世帯員数": 2},
    )
    welfare_clerk = StaffFactory(
        department=DepartmentFactory(institution=mayor, name="生活福祉課"),
        affairs=[affairs[WELFARE]],
    )
    school_clerk = StaffFactory(
        department=DepartmentFactory(institution=board, name="学務課"),
        affairs=[affairs[SCHOOL_MEDICAL]],
    )
    return locals()
