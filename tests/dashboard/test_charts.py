"""Charts drawn on the server as SVG: the numbers (per day by outcome, top affairs and items,
organisations by volume, over the auditor's own scope), the geometry, and what makes them
readable without colour and to a screen reader (patterns, labels, title, desc, a table)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.utils import timezone

from audit.ledger import ledger_append
from dashboard import charts
from dashboard.access import require_scope
from dashboard.selectors import organizations_by_volume, requests_per_day, top_counts
from tests.dashboard.conftest import integrate_and_index


def test_nice_ceilings():
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 10, 11, 260, 5000)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        500,
        5000,
    ]


def test_stacked_bars_are_proportional_and_labelled():
    series = [charts.Series(k, k, "#000", "solid") for k in ("a", "b")]
    chart = charts.stacked_bars(
        chart_id="t",
        title="t",
        description="d",
        categories=[("d1", {"a": 2, "b": 3}), ("d2", {}), ("d3", {"b": 10})],
        series=series,
        label_every=2,
    )
    first, empty, third = chart.columns
    assert [s.value for s in first.segments] == [2, 3] and first.total == 5
    assert first.segments[0].height * 1.5 == pytest.approx(first.segments[1].height)
    assert third.segments[0].height == pytest.approx(chart.plot_bottom - chart.plot_top)
    assert empty.segments == [] and empty.total == 0
    assert [c.show_label for c in chart.columns] == [True, False, True]
    assert [t.value for t in chart.ticks] == [0, 2, 4, 6, 8, 10]
    assert [round(t.y) for t in chart.ticks] == sorted(
        (round(t.y) for t in chart.ticks), reverse=True
    )


def test_horizontal_bars_and_lines():
    bars = charts.horizontal_bars(
        chart_id="h", title="t", description="d", rows=[("x", "X", 10), ("y", "Y", 5)]
    )
    assert bars.bars[0].width == pytest.approx(2 * bars.bars[1].width)
    line = charts.line_chart(
        chart_id="l",
        title="t",
        description="d",
        categories=["a", "b", "c"],
        lines=[("me", [0, 4, 2], False, "circle"), ("peers", [1, 1, 1], True, "square")],
    )
    assert line.lines[0].path.startswith("M48.0,") and line.lines[0].path.count("L") == 2
    # The axis runs to 5 (the nice ceiling of 4): 4 stands at four fifths of the height.
    height = line.plot_bottom - line.plot_top
    assert line.lines[0].points[1].y == pytest.approx(line.plot_bottom - 0.8 * height)
    assert [t.value for t in line.ticks] == [0, 1, 2, 3, 4, 5]


@pytest.fixture
def month(world):
    """Requests over the last days with several outcomes, and one 不開示."""
    now = timezone.now()

    def request(outcome: str, days_ago: int, **extra):
        fields = {
            "request_id": str(uuid.uuid4()),
            "requester": world.mayor.code,
            "provider": world.pension.code,
            "affair": world.affair.code,
            "item": world.pension_item.code,
            "staff": world.clerk.audit_pseudonym,
            "outcome": outcome,
            "nondisclosure": False,
            **extra,
        }
        ledger_append(
            event_type="linkage.request",
            fields=fields,
            subject="SJ" + "B" * 24,
            moment=now - dt.timedelta(days=days_ago),
        )

    for _ in range(3):
        request("provided", 0)
    request("not_found", 0)
    request("refused", 2, reason="not_in_permitted_table")
    request("held", 2, nondisclosure=True, reason="nondisclosure")
    request("provided", 40)  # outside the 30 days
    request("provided", 1, requester=world.neighbour.code, item=world.resident_item.code)
    integrate_and_index()


def test_requests_per_day_by_outcome_over_each_auditors_scope(
    month, national, officer, other_officer
):
    today = timezone.localdate()
    per_day = dict(requests_per_day(require_scope(national), days=30, today=today))
    assert len(per_day) == 30
    assert per_day[today] == {"provided": 3, "not_found": 1}
    assert per_day[today - dt.timedelta(days=2)] == {"refused": 1, "held": 1}
    assert per_day[today - dt.timedelta(days=1)] == {"provided": 1}
    officer_days = dict(requests_per_day(require_scope(officer), days=30, today=today))
    assert officer_days[today - dt.timedelta(days=2)] == {"refused": 1}  # no 不開示 one
    assert officer_days[today - dt.timedelta(days=1)] == {}  # another city's
    other_days = dict(requests_per_day(require_scope(other_officer), days=30, today=today))
    assert sum(sum(v.values()) for v in other_days.values()) == 1


def test_top_affairs_items_and_organisations(month, world, national, officer):
    assert top_counts(require_scope(national), "item") == [
        (world.pension_item.code, 6),
        (world.resident_item.code, 1),
    ]
    assert top_counts(require_scope(officer), "affair") == [(world.affair.code, 5)]
    assert organizations_by_volume(require_scope(national)) == [
        (world.city.code, 6),
        (world.neighbour.organization.code, 1),
    ]


def test_the_page_draws_accessible_svg_with_patterns_legend_and_tables(clients, month):
    html = clients.national.get("/audit/charts/").content.decode()
    svgs = re.findall(r"<svg\b[^>]*>", html)
    assert len(svgs) >= 4
    for tag in svgs:
        if 'class="chart"' not in tag:
            continue
        assert 'role="img"' in tag
        labelled = re.search(r'aria-labelledby="([^"]+)"', tag)
        assert labelled is not None
        for ident in labelled[1].split():
            assert f'id="{ident}"' in html
    # Each outcome has its own pattern (not colour alone) and a legend entry with its name.
    for outcome in ("provided", "not_found", "held", "refused", "released", "declined"):
        assert f'<pattern id="daily-p-{outcome}"' in html
        assert f'fill="url(#daily-p-{outcome})"' in html
    assert html.count("<desc") >= 4
    assert html.count("<table") >= 4  # the same numbers for those who cannot see the chart
    assert ">4</text>" in html  # today's total above its bar
    assert "style=" not in html and "<script>" not in html
