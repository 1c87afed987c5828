"""seed_demo --traffic: realistic requests through the network service, misuse labelled."""

import datetime as dt
import io
import json
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import F

from agencies.models import LinkageRequest
from audit.models import LedgerEntry, LedgerIntake
from core.calendar import is_working_day
from demo.misuse import MISUSE_KINDS

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def traffic(db, tmp_path, settings):
    settings.VAR_DIR = tmp_path
    labels = tmp_path / "labels.jsonl"
    out = io.StringIO()
    with time_machine.travel(dt.datetime(2026, 6, 30, 9, 0, tzinfo=TOKYO), tick=False):
        call_command(
            "seed_demo",
            "--residents",
            "300",
            "--no-progress",
            "--traffic",
            "7",
            "--labels",
            str(labels),
            "--api-keys-file",
            str(tmp_path / "keys.txt"),
            stdout=out,
        )
    return [json.loads(line) for line in labels.read_text().splitlines()], out.getvalue()


def test_traffic(traffic):
    """One world, three checks (loading it is the slow part)."""
    labels, output = traffic
    check_everything_went_through_the_service(output)
    check_the_network_links_different_institutions()
    check_misuse_is_labelled(labels)
    check_office_hours(labels)
    check_demo_logins_include_a_provider_operator_with_work()


def check_everything_went_through_the_service(output):
    total = LinkageRequest.objects.count()
    assert total > 150
    network = LinkageRequest.objects.filter(kind="network")
    internal = LinkageRequest.objects.filter(kind="internal")
    assert network.count() + internal.count() == total
    assert LedgerIntake.objects.filter(event_type="linkage.request").count() == network.count()
    assert LedgerIntake.objects.filter(event_type="internal.transfer").count() == internal.count()
    assert LedgerEntry.objects.count() == LedgerIntake.objects.count()  # integrated and signed
    assert f"traffic: {total} requests over 7 days" in output
    assert f"{internal.count()} of them 庁内連携" in output


def check_the_network_links_different_institutions():
    """A city's own records reach its affairs by 庁内連携: the network is never asked to
    link an institution with itself, and the clerks' cases use both paths."""
    network = LinkageRequest.objects.filter(kind="network")
    assert not network.filter(provider=F("requester")).exists()
    assert not network.filter(reason="provider_is_requester").exists()
    internal = LinkageRequest.objects.filter(kind="internal")
    assert internal.exists()
    assert not internal.exclude(provider=F("requester")).exists()
    # Tax records come from the tax affair of the same institution (demo_world.json).
    tax = internal.filter(item__code="TM00000000000003")
    assert tax.exists()
    assert set(tax.values_list("from_affair__code", flat=True)) == {"JT01000000000010"}


def check_misuse_is_labelled(labels):
    kinds = Counter(label["kind"] for label in labels)
    assert set(kinds) <= set(MISUSE_KINDS)
    assert len(kinds) >= 12
    ids = {label["request_id"] for label in labels}
    assert LinkageRequest.objects.filter(request_id__in=ids).count() == len(ids)
    refused = LinkageRequest.objects.filter(
        request_id__in=[lab["request_id"] for lab in labels if lab["kind"] == "out_of_table"]
    ).values_list("reason", flat=True)
    assert set(refused) == {"not_in_permitted_table"}


def check_office_hours(labels):
    injected = {label["request_id"] for label in labels}
    ordinary = LinkageRequest.objects.exclude(request_id__in=injected)
    times = [r.astimezone(TOKYO) for r in ordinary.values_list("requested_at", flat=True)]
    assert times
    assert all(is_working_day(t.date()) for t in times)
    assert all(dt.time(8, 30) <= t.time() <= dt.time(17, 16) for t in times)
    assert ordinary.filter(case__isnull=True).count() == 0


def test_bad_traffic_argument(db):
    with pytest.raises(CommandError, match="--traffic takes a number of days"):
        call_command("seed_demo", "--traffic", "-3")


def check_demo_logins_include_a_provider_operator_with_work():
    from django.db.models import Count

    from agencies.models import LinkageStatus, StaffMember, StaffRole
    from demo.cards import COUNTER_GROUP
    from demo.logins import demo_logins

    held = (
        LinkageRequest.objects.filter(status=LinkageStatus.HELD)
        .values("provider")
        .annotate(n=Count("id"))
    )
    most = max(row["n"] for row in held)
    # The counter clerks of 市民課 (demo.cards) are provider operators too, shown as 窓口.
    operators = StaffMember.objects.filter(role=StaffRole.PROVIDER_OPERATOR).exclude(
        user__groups__name=COUNTER_GROUP
    )
    shown = [o for o in operators if o.user.username in dict(demo_logins())]
    assert len(shown) == 1
    assert held.get(provider=shown[0].institution_id)["n"] == most
