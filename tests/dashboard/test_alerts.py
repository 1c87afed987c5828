"""The alert queue on the dashboard: who sees which alert (and who cannot even learn that one
exists), triage and bulk actions each on the ledger exactly once, the rules and the
watchlist, the CSV, the charts, the staff page and the overview.

Alerts are made by the real scanner from ledger entries (tests/detection/helpers.py): a
caseless request of the world's city (explain.no_case, the city's privacy officer's), one of
the neighbouring city (the other officer's), and a request about a resident protected from
disclosure (hard.nondisclosure, restricted: national auditors only)."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client

from audit.entries import parse_leaf, subject_pseudonym
from audit.models import LedgerIntake
from dashboard.alert_services import alerts_bulk
from detection.models import Alert, AlertNote, RuleSetting, SubjectIndex, WatchlistEntry
from detection.rules import RULES
from portal.services import card_issue
from tests.dashboard.conftest import client_for, integrate_and_index, views_written
from tests.detection.helpers import OFFICE, request_entry, resident, scan
from tests.portal.conftest import make_counter_clerk
from tests.support.factories import DepartmentFactory, PersonFactory, StaffFactory


@pytest.fixture
def clock():
    """The clock stopped at OFFICE (a Wednesday morning, Tokyo)."""
    with time_machine.travel(OFFICE, tick=False) as traveller:
        yield traveller


def make_alerts(world) -> SimpleNamespace:
    """Alerts by the scanner: the city's, the neighbour's, and two restricted ones of the city
    (hard.nondisclosure and explain.no_case about a resident protected from disclosure);
    sequenced and indexed."""
    city_subject = PersonFactory()
    request_entry(world, staff=world.clerk, person=city_subject)
    neighbour_clerk = StaffFactory(
        institution=world.neighbour,
        department=DepartmentFactory(institution=world.neighbour),
        affairs=[world.affair],
    )
    request_entry(world, staff=neighbour_clerk, person=PersonFactory())
    victim = resident(world, disclosure_protected=True, protection_reason="DV等支援措置")
    request_entry(world, staff=world.clerk, person=victim, nondisclosure=True)
    scan()
    integrate_and_index()
    city = Alert.objects.get(organization=world.city, restricted=False)
    return SimpleNamespace(
        city=city,
        neighbour=Alert.objects.get(organization=world.neighbour.organization),
        restricted=Alert.objects.get(restricted=True, rule="hard.nondisclosure"),
        restricted_too=Alert.objects.get(restricted=True, rule="explain.no_case"),
        city_subject=subject_pseudonym(str(city_subject.public_id)),
        victim=victim,
    )


@pytest.fixture
def alerts(world, clock):
    return make_alerts(world)


def ledger_count(event_type: str) -> int:
    return LedgerIntake.objects.filter(event_type=event_type).count()


def triaged() -> list[dict]:
    return [
        dict(parse_leaf(leaf).fields)
        for leaf in LedgerIntake.objects.filter(event_type="detection.alert_triaged")
        .order_by("id")
        .values_list("leaf", flat=True)
    ]


# --- who sees what --------------------------------------------------------------------------


def test_each_role_sees_its_own_alerts_in_the_queue(clients, alerts):
    national = clients.national.get("/audit/alerts/").content.decode()
    for a in (alerts.city, alerts.neighbour, alerts.restricted):
        assert f'data-alert="{a.pk}"' in national
    officer = clients.officer.get("/audit/alerts/").content.decode()
    assert f'data-alert="{alerts.city.pk}"' in officer
    assert f'data-alert="{alerts.neighbour.pk}"' not in officer
    assert f'data-alert="{alerts.restricted.pk}"' not in officer
    other = clients.other.get("/audit/alerts/").content.decode()
    assert f'data-alert="{alerts.neighbour.pk}"' in other
    assert f'data-alert="{alerts.city.pk}"' not in other


@pytest.mark.parametrize(
    "path",
    [
        "/audit/alerts/{id}/?purpose=alert",
        "/audit/alerts/{id}/",
    ],
)
def test_an_alert_out_of_scope_is_a_404_like_one_that_does_not_exist(clients, alerts, path):
    missing = clients.officer.get(path.format(id=alerts.restricted.pk + 1000))
    restricted = clients.officer.get(path.format(id=alerts.restricted.pk))
    other = clients.officer.get(path.format(id=alerts.neighbour.pk))
    assert missing.status_code == restricted.status_code == other.status_code == 404
    assert restricted.content == missing.content.replace(
        str(alerts.restricted.pk + 1000).encode(), str(alerts.restricted.pk).encode()
    )
    assert not views_written(view="alert")


@pytest.mark.parametrize("action", ["status", "assign", "notes"])
def test_no_post_reaches_an_alert_out_of_scope(clients, alerts, officer, action):
    data = {"status": "investigating", "assignee": str(officer.pk), "text": "x", "purpose": "alert"}
    before = LedgerIntake.objects.count()
    for alert in (alerts.restricted, alerts.neighbour):
        response = clients.officer.post(f"/audit/alerts/{alert.pk}/{action}/", data)
        assert response.status_code == 404
    assert LedgerIntake.objects.count() == before
    assert not AlertNote.objects.exists()
    assert set(Alert.objects.values_list("status", flat=True)) == {"new"}


def test_a_privacy_officer_learns_nothing_of_a_restricted_alert(clients, alerts):
    home = clients.officer.get("/audit/").content.decode()
    assert 'id="tile-alerts"' in home
    # The city's one alert, not the restricted one of the same city.
    assert clients.officer.get("/audit/").context["new_alerts"] == 1
    assert clients.national.get("/audit/").context["new_alerts"] == 4
    queue = clients.officer.get("/audit/alerts/")
    assert queue.context["page"].paginator.count == 1
    assert "hard.nondisclosure" not in queue.content.decode().split("<tbody>")[1]
    body = b"".join(clients.officer.get("/audit/alerts.csv").streaming_content).decode("utf-8")
    assert "hard.nondisclosure" not in body and "不開示" not in body
    charts = clients.officer.get("/audit/charts/").context["alerts"]
    assert sum(total for _, _, total in charts.per_rule_rows) == 1
    assert [r.alerts for _, r in charts.rate_rows] == [1]
    staff = clients.officer.get(f"/audit/staff/{alerts.city.staff_pseudonym}/?purpose=alert")
    assert [int(r["id"]) for r in staff.context["alerts"]] == [alerts.city.pk]
    # Filtering by the restricted alert's rule finds nothing, as for a rule that never fired.
    filtered = clients.officer.get("/audit/alerts/?rule=hard.nondisclosure")
    assert filtered.context["page"].paginator.count == 0


def test_who_is_no_auditor_gets_no_alert_page(clients, alerts, world):
    url = f"/audit/alerts/{alerts.city.pk}/?purpose=alert"
    for path in ("/audit/alerts/", url, "/audit/alerts.csv", "/audit/alerts/rules/"):
        anonymous = clients.anonymous.get(path)
        assert anonymous.status_code == 302 and "/audit/login/" in anonymous["Location"]
        assert clients.clerk.get(path).status_code == 403
    # A resident's portal session is not a Django user at all.
    resident_client = Client()
    card = card_issue(staff=make_counter_clerk(world), person=world.person, pin="1234")
    resident_client.post("/portal/login/", {"serial": card.serial, "pin": "1234"})
    assert resident_client.get(url).status_code == 302
    before = LedgerIntake.objects.count()
    for client in (clients.clerk, clients.anonymous, resident_client):
        client.post(f"/audit/alerts/{alerts.city.pk}/status/", {"status": "investigating"})
        client.post("/audit/alerts/bulk/", {"action": "assign_me", "alerts": [alerts.city.pk]})
    assert LedgerIntake.objects.count() == before
    assert Alert.objects.get(pk=alerts.city.pk).status == "new"


def test_an_ended_privacy_officer_sees_no_alert_at_once(clients, alerts, officer):
    from dashboard.services import privacy_officer_end
    from detection.models import PrivacyOfficer

    privacy_officer_end(actor=None, officer=PrivacyOfficer.objects.get(user=officer))
    assert clients.officer.get("/audit/alerts/").status_code == 403


def test_every_post_needs_its_csrf_token(national, alerts):
    client = Client(enforce_csrf_checks=True)
    client.force_login(national)
    posts = {
        f"/audit/alerts/{alerts.city.pk}/status/": {"status": "investigating"},
        f"/audit/alerts/{alerts.city.pk}/assign/": {"assignee": str(national.pk)},
        f"/audit/alerts/{alerts.city.pk}/notes/": {"text": "メモ"},
        "/audit/alerts/bulk/": {"action": "assign_me", "alerts": [alerts.city.pk]},
        "/audit/alerts/rules/behaviour.volume/": {"enabled": "on", "min_count": "30"},
        "/audit/alerts/watchlist/add/": {"subject": alerts.city_subject, "reason": "other"},
    }
    before = LedgerIntake.objects.count()
    for path, data in posts.items():
        assert client.post(path, data).status_code == 403, path
    assert LedgerIntake.objects.count() == before
    assert not AlertNote.objects.exists() and not WatchlistEntry.objects.exists()


# --- the alert's page -----------------------------------------------------------------------


def test_the_alert_page_asks_a_purpose_then_records_the_look(clients, alerts, world):
    first = clients.officer.get(f"/audit/alerts/{alerts.city.pk}/")
    assert first.templates[0].name == "dashboard/purpose.html"
    assert not views_written(view="alert")
    page = clients.officer.get(f"/audit/alerts/{alerts.city.pk}/?purpose=alert")
    html = page.content.decode()
    assert page.status_code == 200
    # The rule in the page's language (Japanese by default), its code and severity.
    rule = RULES["explain.no_case"]
    assert rule.title_ja in html and rule.explanation_ja in html
    assert rule.title_en not in html
    assert "explain.no_case" in html
    seq = alerts.city.entries.get().seq
    assert f'href="/audit/entries/{seq}/?purpose=alert"' in html
    looks = views_written(view="alert")
    assert len(looks) == 1
    assert looks[0].subject == alerts.city_subject
    assert looks[0].fields["alert"] == str(alerts.city.pk)
    assert looks[0].fields["purpose"] == "alert"
    assert looks[0].fields["organization"] == world.city.code
    assert "nondisclosure" not in looks[0].fields


def test_the_page_is_english_on_request(clients, alerts):
    clients.national.cookies["django_language"] = "en"
    html = clients.national.get(f"/audit/alerts/{alerts.city.pk}/?purpose=alert").content.decode()
    rule = RULES["explain.no_case"]
    assert rule.title_en in html and rule.explanation_en in html
    assert rule.explanation_ja not in html
    assert "Triage" in html


def test_a_national_auditors_look_at_a_restricted_alert_is_hidden_like_its_entry(clients, alerts):
    clients.national.get(f"/audit/alerts/{alerts.restricted.pk}/?purpose=alert")
    (look,) = views_written(view="alert")
    assert look.fields["nondisclosure"] is True
    assert look.subject == subject_pseudonym(str(alerts.victim.public_id))


def test_an_unknown_purpose_is_asked_again_and_records_nothing(clients, alerts):
    page = clients.national.get(f"/audit/alerts/{alerts.city.pk}/?purpose=curiosity")
    assert page.templates[0].name == "dashboard/purpose.html"
    assert not views_written(view="alert")


# --- triage ---------------------------------------------------------------------------------


def test_triage_on_the_page_writes_one_ledger_entry_per_step(clients, alerts, officer):
    url = f"/audit/alerts/{alerts.city.pk}"
    assign = clients.officer.post(f"{url}/assign/", {"assignee": officer.pk, "purpose": "alert"})
    assert assign.status_code == 302 and assign["Location"].endswith("?purpose=alert")
    clients.officer.post(f"{url}/notes/", {"text": "窓口に確認する", "purpose": "alert"})
    clients.officer.post(f"{url}/status/", {"status": "investigating"})
    clients.officer.post(
        f"{url}/status/", {"status": "dismissed", "reason": "legitimate_business", "note": ""}
    )
    alert = Alert.objects.get(pk=alerts.city.pk)
    assert (alert.status, alert.dismiss_reason, alert.assignee) == (
        "dismissed",
        "legitimate_business",
        officer,
    )
    assert [n.text for n in alert.notes.all()] == ["窓口に確認する"]
    steps = triaged()
    assert [(s["status"], s.get("assigned"), s.get("reason")) for s in steps] == [
        ("new", True, None),
        ("investigating", None, None),
        ("dismissed", None, "legitimate_business"),
    ]
    assert {s["alert"] for s in steps} == {str(alert.pk)}
    # The history on the page is read back from those entries.
    page = clients.officer.get(f"{url}/?purpose=alert")
    assert [h["step"].status for h in page.context["history"]] == [
        "new",
        "investigating",
        "dismissed",
    ]
    assert "窓口に確認する" in page.content.decode()
    # The note is nowhere on the ledger.
    assert not LedgerIntake.objects.filter(leaf__contains="窓口").exists()


@pytest.mark.parametrize(
    "data",
    [
        {"status": "dismissed", "reason": ""},  # dismissing needs a reason
        {"status": "dismissed", "reason": "because"},  # not a reason
        {"status": "confirmed"},  # new -> confirmed is not a move of the workflow
        {"status": "sideways"},
        {},
    ],
)
def test_a_bad_status_change_writes_nothing_and_says_why(clients, alerts, data):
    response = clients.national.post(f"/audit/alerts/{alerts.city.pk}/status/", data, follow=True)
    assert response.status_code == 200
    assert list(response.context["messages"])
    assert Alert.objects.get(pk=alerts.city.pk).status == "new"
    assert not triaged()


def test_an_alert_can_be_given_only_to_someone_who_may_see_it(
    clients, alerts, officer, other_officer, national
):
    before = ledger_count("detection.alert_triaged")
    # The neighbour's officer cannot see the city's alert; nobody but national auditors the
    # restricted one.
    clients.national.post(f"/audit/alerts/{alerts.city.pk}/assign/", {"assignee": other_officer.pk})
    clients.national.post(f"/audit/alerts/{alerts.restricted.pk}/assign/", {"assignee": officer.pk})
    assert ledger_count("detection.alert_triaged") == before
    assert Alert.objects.filter(assignee__isnull=False).count() == 0
    clients.national.post(
        f"/audit/alerts/{alerts.restricted.pk}/assign/", {"assignee": national.pk}
    )
    assert Alert.objects.get(pk=alerts.restricted.pk).assignee == national


def test_an_empty_note_is_refused(clients, alerts):
    clients.national.post(f"/audit/alerts/{alerts.city.pk}/notes/", {"text": "   "})
    assert not AlertNote.objects.exists()


# --- bulk actions ---------------------------------------------------------------------------


def test_bulk_actions_write_one_entry_per_alert_changed(clients, alerts, national):
    ids = [alerts.city.pk, alerts.neighbour.pk, alerts.restricted.pk]
    response = clients.national.post(
        "/audit/alerts/bulk/", {"action": "assign_me", "alerts": ids, "query": "status=new"}
    )
    assert response.status_code == 302 and response["Location"] == "/audit/alerts/?status=new"
    assert ledger_count("detection.alert_triaged") == 3
    # Again: nothing changes, nothing is written.
    clients.national.post("/audit/alerts/bulk/", {"action": "assign_me", "alerts": ids})
    assert ledger_count("detection.alert_triaged") == 3
    clients.national.post(
        "/audit/alerts/bulk/",
        {"action": "investigate", "alerts": [alerts.city.pk, alerts.neighbour.pk]},
    )
    clients.national.post(
        "/audit/alerts/bulk/",
        {"action": "dismiss", "reason": "duplicate", "alerts": [alerts.city.pk]},
    )
    steps = triaged()
    assert len(steps) == 6
    assert sorted((s["alert"], s["status"]) for s in steps[3:5]) == sorted(
        [(str(alerts.city.pk), "investigating"), (str(alerts.neighbour.pk), "investigating")]
    )
    assert steps[5] == {
        "alert": str(alerts.city.pk),
        "rule": alerts.city.rule,
        "status": "dismissed",
        "reason": "duplicate",
        "actor": steps[5]["actor"],
    }
    assert set(
        Alert.objects.exclude(pk=alerts.restricted_too.pk).values_list("assignee", flat=True)
    ) == {national.pk}


def test_a_bulk_action_is_all_or_nothing(clients, alerts, officer):
    # One alert the workflow refuses (confirmed cannot be dismissed): none changes.
    alerts_bulk(user=officer, alert_ids=[alerts.city.pk], action="investigate")
    Alert.objects.filter(pk=alerts.city.pk).update(status="confirmed")
    before = ledger_count("detection.alert_triaged")
    refused = clients.national.post(
        "/audit/alerts/bulk/",
        {"action": "dismiss", "reason": "other", "alerts": [alerts.neighbour.pk, alerts.city.pk]},
        follow=True,
    )
    (message,) = [str(m) for m in refused.context["messages"]]
    assert message.startswith(f"警報 #{alerts.city.pk}：")
    assert ledger_count("detection.alert_triaged") == before
    assert Alert.objects.get(pk=alerts.neighbour.pk).status == "new"
    # One alert out of the officer's scope: 404, and the officer's own alert unchanged too.
    response = clients.officer.post(
        "/audit/alerts/bulk/",
        {"action": "assign_me", "alerts": [alerts.city.pk, alerts.neighbour.pk]},
    )
    assert response.status_code == 404
    assert Alert.objects.get(pk=alerts.city.pk).assignee is None
    assert ledger_count("detection.alert_triaged") == before


@pytest.mark.parametrize(
    "data",
    [
        {"action": "dismiss", "alerts": ["1"]},  # no reason
        {"action": "explode", "alerts": ["1"]},
        {"action": "assign_me"},  # nothing selected
        {"action": "assign_me", "alerts": ["not-a-number"]},
        {"action": "assign_me", "alerts": ["123456789012"]},  # twelve digits: refused
    ],
)
def test_a_bad_bulk_form_is_a_400_and_writes_nothing(clients, alerts, data):
    response = clients.national.post("/audit/alerts/bulk/", data)
    assert response.status_code == 400
    assert not triaged()


# --- queue filters, pages, CSV --------------------------------------------------------------


def test_the_queue_filters(clients, alerts, world):
    def ids(query: str) -> set[int]:
        page = clients.national.get(f"/audit/alerts/?{query}").context["page"]
        return {a.pk for a in page.object_list}

    assert ids("severity=high") == {alerts.restricted.pk}
    assert ids("rule=explain.no_case") == {
        alerts.city.pk,
        alerts.neighbour.pk,
        alerts.restricted_too.pk,
    }
    assert ids(f"organization={world.neighbour.organization.code}") == {alerts.neighbour.pk}
    assert len(ids("status=new")) == 4
    assert ids("status=dismissed") == set()
    day = OFFICE.date().isoformat()
    assert len(ids(f"date_from={day}&date_to={day}")) == 4
    assert ids("date_from=2026-06-04") == set()
    assert ids(f"staff={alerts.city.staff_pseudonym}") == {
        alerts.city.pk,
        alerts.restricted.pk,
        alerts.restricted_too.pk,
    }
    bad = clients.national.get("/audit/alerts/?date_from=2026-06-05&date_to=2026-06-01")
    assert bad.context["page"] is None and bad.context["form"].errors


def test_the_queue_is_paged(clients, alerts, clock):
    from django.utils import timezone

    template = Alert.objects.get(pk=alerts.city.pk)
    now = timezone.now()
    Alert.objects.bulk_create(
        [
            Alert(
                rule=template.rule,
                family=template.family,
                severity=template.severity,
                organization=template.organization,
                staff_pseudonym=template.staff_pseudonym,
                day=template.day,
                dedupe_key=f"paging-{n}",
                first_at=now,
                last_at=now,
                entry_count=1,
                created_at=now,
                updated_at=now,
            )
            for n in range(60)
        ]
    )
    first = clients.officer.get("/audit/alerts/")
    assert len(first.context["rows"]) == 50
    second = clients.officer.get("/audit/alerts/?page=2")
    assert len(second.context["rows"]) == 11
    assert not {int(r["id"]) for r in first.context["rows"]} & {
        int(r["id"]) for r in second.context["rows"]
    }


def test_the_csv_has_a_bom_the_filters_and_is_recorded(clients, alerts, world):
    response = clients.national.get("/audit/alerts.csv?rule=explain.no_case")
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "警報番号 (Alert)" and rows[0][-1] == "不開示 (Restricted)"
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(
        [alerts.city.pk, alerts.neighbour.pk, alerts.restricted_too.pk]
    )
    assert {r[1] for r in rows[1:]} == {"explain.no_case"}
    (export,) = views_written(view="export")
    assert export.fields["purpose"] == "alert"
    officer_rows = list(
        csv.reader(
            io.StringIO(
                b"".join(clients.officer.get("/audit/alerts.csv").streaming_content).decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert "不開示 (Restricted)" not in officer_rows[0]
    assert [int(r[0]) for r in officer_rows[1:]] == [alerts.city.pk]
    assert clients.national.get("/audit/alerts.csv?date_from=nope").status_code == 400


# --- rules and the watchlist ----------------------------------------------------------------


def test_rules_and_the_watchlist_are_the_national_auditors(clients, alerts):
    for client in (clients.officer, clients.other):
        assert client.get("/audit/alerts/rules/").status_code == 404
        assert client.get("/audit/alerts/watchlist/").status_code == 404
        assert (
            client.post("/audit/alerts/rules/behaviour.volume/", {"min_count": 30}).status_code
            == 404
        )
        assert (
            client.post(
                "/audit/alerts/watchlist/add/", {"subject": alerts.city_subject, "reason": "other"}
            ).status_code
            == 404
        )
    assert not ledger_count("detection.rule_changed")
    assert not WatchlistEntry.objects.exists()
    nav = clients.officer.get("/audit/").content.decode()
    assert "/audit/alerts/rules/" not in nav and "/audit/alerts/watchlist/" not in nav


def test_a_rule_is_set_on_its_page_and_recorded(clients, alerts):
    page = clients.national.get("/audit/alerts/rules/").content.decode()
    assert 'id="rule-behaviour-volume"' in page and 'name="min_count"' in page
    response = clients.national.post(
        "/audit/alerts/rules/behaviour.volume/",
        {"min_count": "30", "factor": "4", "baseline_days": "28"},
    )
    assert response.status_code == 302
    setting = RuleSetting.objects.get(code="behaviour.volume")
    assert setting.enabled is False  # the box was not ticked
    assert setting.params["min_count"] == 30 and setting.params["factor"] == 4
    (entry,) = [
        parse_leaf(leaf).fields
        for leaf in LedgerIntake.objects.filter(event_type="detection.rule_changed").values_list(
            "leaf", flat=True
        )
    ]
    assert entry["rule"] == "behaviour.volume" and entry["enabled"] is False
    assert "min_count=30" in str(entry["params"])


@pytest.mark.parametrize(
    "data",
    [
        {"enabled": "on", "min_count": "0", "factor": "3", "baseline_days": "28"},  # below range
        {"enabled": "on", "min_count": "abc", "factor": "3", "baseline_days": "28"},
        {"enabled": "on", "factor": "3", "baseline_days": "28"},  # missing
    ],
)
def test_a_threshold_out_of_range_is_a_form_error_and_writes_nothing(clients, alerts, data):
    before = RuleSetting.objects.get(code="behaviour.volume").params
    response = clients.national.post("/audit/alerts/rules/behaviour.volume/", data)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert RuleSetting.objects.get(code="behaviour.volume").params == before
    assert not ledger_count("detection.rule_changed")


def test_an_unknown_rule_is_a_404(clients, alerts):
    assert clients.national.post("/audit/alerts/rules/behaviour.nope/", {}).status_code == 404


def test_the_watchlist_by_subject_pseudonym(clients, alerts):
    person = PersonFactory()  # never queried: not indexed by the scanner yet
    pseudonym = subject_pseudonym(str(person.public_id))
    assert not SubjectIndex.objects.filter(pseudonym=pseudonym).exists()
    response = clients.national.post(
        "/audit/alerts/watchlist/add/", {"subject": pseudonym.lower(), "reason": "public_figure"}
    )
    assert response.status_code == 302
    entry = WatchlistEntry.objects.get()
    assert entry.person == person and entry.subject == pseudonym
    page = clients.national.get("/audit/alerts/watchlist/").content.decode()
    assert pseudonym in page and person.family_name not in page
    # Twice: a form error, one ledger entry only.
    again = clients.national.post(
        "/audit/alerts/watchlist/add/", {"subject": pseudonym, "reason": "public_figure"}
    )
    assert again.status_code == 400
    assert ledger_count("detection.watchlist_added") == 1
    clients.national.post(f"/audit/alerts/watchlist/{entry.pk}/remove/")
    assert WatchlistEntry.objects.get().removed_at is not None
    assert ledger_count("detection.watchlist_removed") == 1
    assert pseudonym not in clients.national.get("/audit/alerts/watchlist/").content.decode()
    assert clients.national.post("/audit/alerts/watchlist/99999/remove/").status_code == 404


@pytest.mark.parametrize(
    "subject",
    [
        "123456789018",  # the shape of a My Number: not a pseudonym, refused, never echoed
        "SJ" + "A" * 24,  # a pseudonym of nobody
        "",
    ],
)
def test_the_watchlist_takes_nothing_but_a_known_pseudonym(clients, alerts, subject):
    response = clients.national.post(
        "/audit/alerts/watchlist/add/", {"subject": subject, "reason": "other"}
    )
    assert response.status_code == 400
    assert not WatchlistEntry.objects.exists()
    assert not ledger_count("detection.watchlist_added")
    if subject.isdigit():
        assert subject not in response.content.decode()


# --- charts, staff page, overview -----------------------------------------------------------


def test_the_alert_charts_count_the_scope(clients, alerts, world):
    charts = clients.national.get("/audit/charts/").context["alerts"]
    today = OFFICE.strftime("%m/%d")
    (row,) = [r for r in charts.per_rule_rows if r[0] == today]
    assert row[2] == 4
    assert {s.label for s in charts.per_rule.series} == {
        RULES["explain.no_case"].title_ja,
        RULES["hard.nondisclosure"].title_ja,
    }
    # Patterns, not colour alone: every series has its own.
    patterns = [s.pattern for s in charts.per_rule.series]
    assert len(set(patterns)) == len(patterns)
    rates = {r.organization: r for _, r in charts.rate_rows}
    city = rates[world.city.code]
    assert city.alerts == 3 and city.requests >= 1
    assert city.rate == round(1000 * city.alerts / city.requests, 1)
    html = clients.national.get("/audit/charts/").content.decode()
    assert 'aria-labelledby="alert-rules-title alert-rules-desc"' in html
    assert 'aria-labelledby="alert-rates-title alert-rates-desc"' in html


def test_the_staff_page_lists_the_members_alerts(clients, alerts, world):
    page = clients.national.get(f"/audit/staff/{world.clerk.audit_pseudonym}/?purpose=alert")
    assert {int(r["id"]) for r in page.context["alerts"]} == {
        alerts.city.pk,
        alerts.restricted.pk,
        alerts.restricted_too.pk,
    }
    other = clients.other.get(f"/audit/staff/{world.clerk.audit_pseudonym}/?purpose=alert")
    assert other.status_code == 404


def test_a_role_granted_anew_reads_its_scope_again(alerts, world, db):
    from django.contrib.auth import get_user_model

    from audit.selectors import AUDITORS_GROUP

    user = get_user_model().objects.create_user(username="late.auditor", password="x")
    client = client_for(user)
    assert client.get("/audit/alerts/").status_code == 403
    user.groups.add(Group.objects.get_or_create(name=AUDITORS_GROUP)[0])
    assert client.get("/audit/alerts/").context["page"].paginator.count == 4
