"""Institutions as the law defines them: one per 執行機関, acting in capacities that the
permitted table names exactly; 庁内連携 under the organisation's ordinance.

Built on the real permitted table shipped with the project (agencies/data), not a toy one.
"""

import datetime as dt
import uuid

from agencies.models import (
    LinkageStatus,
    OrdinanceRule,
)
from agencies.network.rules import permitted_routes
from agencies.network.services import internal_transfer_send, linkage_request_send
from audit.models import LedgerIntake
from tests.support.capacities import (
    CITY_TAX,
    RESIDENTS,
    SCHOOL_MEDICAL,
    TAX,
    UNEMPLOYMENT,
    WELFARE,
)
from tests.support.factories import (
    InstitutionFactory,
)

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)


def query(w, staff, affair, item, provider):
    return linkage_request_send(
        staff=staff,
        request_id=uuid.uuid4(),
        affair=w["affairs"][affair],
        item=w["items"][item],
        provider=provider,
        addressee_number="100000001",
        now=NOW,
    )


def transfer(w, affair, item, from_affair):
    return internal_transfer_send(
        staff=w["welfare_clerk"],
        request_id=uuid.uuid4(),
        affair=w["affairs"][affair],
        from_affair=w["affairs"][from_affair] if from_affair else None,
        item=w["items"][item],
        addressee_number="100000001",
        now=NOW,
    )


def test_welfare_asking_the_citys_own_tax_records_is_not_network_linkage(sapporo):
    """生活保護 (the mayor as 保護の実施機関) and 市民税 (the mayor as 市町村長) are one
    institution: the network refuses, and says to use 庁内連携."""
    outcome = query(sapporo, sapporo["welfare_clerk"], WELFARE, TAX, sapporo["mayor"])
    assert outcome.request.status == LinkageStatus.REFUSED
    assert outcome.request.reason == "provider_is_requester"
    assert "庁内連携を利用してください" in outcome.message["ja"]


def test_the_same_use_succeeds_as_a_transfer_under_the_ordinance(sapporo):
    OrdinanceRule.objects.create(
        organization=sapporo["city"],
        affair=sapporo["affairs"][WELFARE],
        item=sapporo["items"][TAX],
        from_affair=sapporo["affairs"][CITY_TAX],
        ordinance="札幌市番号条例 第4条第2項",
        valid_from=dt.date(2017, 11, 13),
    )
    outcome = transfer(sapporo, WELFARE, TAX, CITY_TAX)
    assert outcome.request.status == LinkageStatus.PROVIDED
    assert outcome.request.payload == {"課税年度": 2026, "総所得金額": 1_200_000}
    entry = LedgerIntake.objects.get(event_type="internal.transfer")
    assert '"outcome":"provided"' in entry.leaf


def test_a_transfer_outside_the_ordinance_is_refused_and_recorded(sapporo):
    OrdinanceRule.objects.create(
        organization=sapporo["city"],
        affair=sapporo["affairs"][WELFARE],
        item=sapporo["items"][TAX],
        from_affair=sapporo["affairs"][CITY_TAX],
        ordinance="札幌市番号条例 第4条第2項",
        valid_from=dt.date(2017, 11, 13),
        valid_to=dt.date(2026, 3, 31),  # repealed before the transfer
    )
    ended = transfer(sapporo, WELFARE, TAX, CITY_TAX)
    other_item = transfer(sapporo, WELFARE, RESIDENTS, None)
    for outcome in (ended, other_item):
        assert outcome.request.status == LinkageStatus.REFUSED
        assert outcome.request.reason == "not_in_ordinance"
        assert outcome.request.payload is None
        assert "条例で定められていません" in outcome.message["ja"]
    assert LedgerIntake.objects.filter(event_type="internal.transfer").count() == 2


def test_the_board_asking_the_mayor_is_network_linkage(sapporo):
    """教育委員会 and 市長 are different 執行機関 of one city: their exchange goes over the
    network as 情報連携."""
    outcome = query(sapporo, sapporo["school_clerk"], SCHOOL_MEDICAL, RESIDENTS, sapporo["mayor"])
    assert outcome.request.kind == "network"
    assert outcome.request.status == LinkageStatus.PROVIDED
    assert outcome.request.payload == {"世帯員数": 2}


def test_a_row_naming_the_ministry_of_labour_matches_no_other_national_body(sapporo):
    """生活保護 may ask 厚生労働大臣 (雇用保険) for 失業等給付関係情報; 法務大臣 is also a national
    body, and is not who the law names."""
    wrong = query(sapporo, sapporo["welfare_clerk"], WELFARE, UNEMPLOYMENT, sapporo["moj"])
    assert wrong.request.reason == "not_in_permitted_table"
    assert wrong.message["ja"] == (
        f"指定された特定個人情報名「{UNEMPLOYMENT}」の照会は許可されていません。"
    )
    right = query(sapporo, sapporo["welfare_clerk"], WELFARE, UNEMPLOYMENT, sapporo["mhlw"])
    assert right.request.status == LinkageStatus.NOT_FOUND  # allowed; nothing held about them
    routes = permitted_routes(
        requester=sapporo["mayor"], affairs=[sapporo["affairs"][WELFARE]], day=NOW.date()
    )
    unemployment = {r.provider.code for r in routes if r.item.code == UNEMPLOYMENT}
    assert unemployment == {sapporo["mhlw"].code}
    assert sapporo["mayor"].code not in {r.provider.code for r in routes}


def test_a_merged_institution_takes_no_part(sapporo):
    """The old 福祉事務所 row, merged into the mayor, is neither requester nor provider."""
    old = InstitutionFactory(
        organization=sapporo["city"],
        code="0110020000000003",
        name="福祉事務所",
        capacities=[],
        merged_into=sapporo["mayor"],
    )
    outcome = query(sapporo, sapporo["school_clerk"], SCHOOL_MEDICAL, RESIDENTS, old)
    assert outcome.request.reason == "not_in_permitted_table"
