"""What auditors set (switches, thresholds, the watchlist) and how they triage alerts: every
change a ledger entry of codes and pseudonyms; the workflow new -> investigating ->
confirmed or dismissed with a reason; one burst, one alert with all its entries."""

from __future__ import annotations

import re

import pytest

from audit.entries import parse_leaf, subject_pseudonym
from audit.models import LedgerIntake
from detection.models import AlertNote, AlertStatus, RuleSetting
from detection.rules import RULES
from detection.services import (
    DetectionError,
    alert_assign,
    alert_note_add,
    alert_transition,
    rule_setting_change,
    watchlist_add,
    watchlist_remove,
)
from tests.detection.helpers import alerts, at, clerk, request_entry, rules_fired, scan, seqs_of
from tests.support.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.usefixtures("clock")


def _entries(event_type):
    return [
        parse_leaf(leaf)
        for leaf in LedgerIntake.objects.filter(event_type=event_type)
        .order_by("id")
        .values_list("leaf", flat=True)
    ]


def test_every_rule_of_the_catalogue_has_its_setting_row_at_its_defaults(db):
    """The data migration writes one row per rule at its defaults (run here again: a
    transactional test elsewhere may have emptied the table)."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("detection.migrations.0002_rule_settings")
    migration.create(apps, None)
    rows = {s.code: s for s in RuleSetting.objects.all()}
    assert set(rows) == set(RULES)
    for code, rule in RULES.items():
        assert rows[code].enabled and rows[code].params == rule.defaults()


def test_every_rule_explains_itself_in_japanese_and_english():
    for rule in RULES.values():
        assert rule.title_ja and rule.title_en and rule.explanation_ja and rule.explanation_en
        assert any(
            "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in rule.explanation_ja
        )


def test_a_rule_switched_off_is_recorded_and_finds_nothing(world):
    auditor = UserFactory()
    rule_setting_change(code="behaviour.off_hours", enabled=False, params={}, actor=auditor)
    [entry] = _entries("detection.rule_changed")
    assert entry.fields["rule"] == "behaviour.off_hours" and entry.fields["enabled"] is False
    assert entry.fields["params"] == "grace_minutes=30"
    # An auditor who is not staff: a keyed pseudonym of the user, never the user's name.
    assert re.fullmatch(r"AU[0-9A-F]{16}", entry.fields["actor"])
    assert auditor.get_username() not in entry.leaf().decode()
    request_entry(world, staff=world.clerk, person=PersonFactory(), moment=at(23))
    scan()
    assert "behaviour.off_hours" not in rules_fired()


def test_a_threshold_set_by_an_auditor_is_applied_and_recorded(world):
    auditor_staff = clerk(world)
    rule_setting_change(
        code="behaviour.repeat_subject",
        enabled=True,
        params={"min_count": 3},
        actor=auditor_staff.user,
    )
    [entry] = _entries("detection.rule_changed")
    assert entry.fields["params"] == "min_count=3,window_minutes=480"
    assert entry.fields["actor"] == auditor_staff.audit_pseudonym
    person = PersonFactory()
    for i in range(3):
        request_entry(world, staff=world.clerk, person=person, moment=at(9, 30 * i))
    scan()
    assert "behaviour.repeat_subject" in rules_fired()


@pytest.mark.parametrize(
    ("code", "params"),
    [
        ("behaviour.no_such_rule", {}),
        ("behaviour.repeat_subject", {"min_count": 1}),  # below its range
        ("behaviour.repeat_subject", {"colour": 3}),
        ("behaviour.repeat_subject", {"min_count": "6"}),
    ],
)
def test_a_setting_outside_the_catalogue_is_refused_and_not_recorded(db, code, params):
    with pytest.raises(DetectionError):
        rule_setting_change(code=code, enabled=True, params=params, actor=UserFactory())
    assert _entries("detection.rule_changed") == []


def test_the_watchlist_is_recorded_by_subject_pseudonym_only(db):
    person = PersonFactory(family_name="著名", given_name="人")
    auditor = UserFactory()
    entry = watchlist_add(person=person, reason="public_figure", actor=auditor)
    with pytest.raises(DetectionError):
        watchlist_add(person=person, reason="public_figure", actor=auditor)
    watchlist_remove(entry=entry, actor=auditor)
    added, removed = _entries("detection.watchlist_added"), _entries("detection.watchlist_removed")
    pseudonym = subject_pseudonym(str(person.public_id))
    assert [e.subject for e in added + removed] == [pseudonym, pseudonym]
    leaves = "".join(LedgerIntake.objects.values_list("leaf", flat=True))
    assert "著名" not in leaves and str(person.public_id) not in leaves


# --- alerts ---------------------------------------------------------------------------------------


def test_one_burst_is_one_alert_with_all_its_entries(world):
    """Thirty refused attempts by one clerk in a day: one alert of thirty entries, not thirty."""
    seqs = [
        request_entry(
            world,
            staff=world.clerk,
            person=PersonFactory(),
            outcome="refused",
            reason="not_in_permitted_table",
            moment=at(9, i),
        )
        for i in range(30)
    ]
    next_day = [
        request_entry(
            world,
            staff=world.clerk,
            person=PersonFactory(),
            outcome="refused",
            reason="not_in_permitted_table",
            moment=at(9, day=at(9).date().replace(day=4)),
        )
    ]
    scan()
    first, second = alerts("hard.out_of_table")
    assert first.entry_count == len(seqs) and len(seqs_of(first)) == 30
    assert second.entry_count == len(next_day) and second.day != first.day


def _alert(world):
    request_entry(world, staff=world.clerk, person=PersonFactory(), moment=at(23))
    scan()
    return alerts("behaviour.off_hours")[0]


def test_the_triage_workflow_records_each_step(world):
    alert = _alert(world)
    auditor, colleague = UserFactory(), UserFactory()
    assert alert.status == AlertStatus.NEW
    alert = alert_assign(alert=alert, assignee=colleague, actor=auditor)
    alert = alert_transition(
        alert=alert, status="investigating", actor=colleague, note="勤務記録を確認する"
    )
    with pytest.raises(DetectionError):
        alert_transition(alert=alert, status="dismissed", actor=colleague)  # needs a reason
    alert = alert_transition(
        alert=alert, status="dismissed", actor=colleague, reason="legitimate_business"
    )
    assert alert.dismiss_reason == "legitimate_business"
    alert = alert_transition(alert=alert, status="investigating", actor=auditor)  # reopened
    alert = alert_transition(alert=alert, status="confirmed", actor=auditor)
    assert alert.dismiss_reason == "" and alert.assignee == colleague
    alert_note_add(alert=alert, author=auditor, text="所属長に報告済み")
    assert list(AlertNote.objects.values_list("text", flat=True)) == [
        "勤務記録を確認する",
        "所属長に報告済み",
    ]
    steps = [
        (e.fields["status"], e.fields.get("reason"), e.fields.get("assigned"))
        for e in _entries("detection.alert_triaged")
    ]
    assert steps == [
        ("new", None, True),
        ("investigating", None, None),
        ("dismissed", "legitimate_business", None),
        ("investigating", None, None),
        ("confirmed", None, None),
    ]
    # Notes are free text: never on the ledger.
    leaves = "".join(LedgerIntake.objects.values_list("leaf", flat=True))
    assert "所属長" not in leaves


def test_a_move_the_workflow_does_not_allow_is_refused(world):
    alert = _alert(world)
    with pytest.raises(DetectionError):
        alert_transition(alert=alert, status="confirmed", actor=UserFactory())
    with pytest.raises(DetectionError):
        alert_note_add(alert=alert, author=UserFactory(), text="  ")
