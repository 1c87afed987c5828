"""Entries past the retention period are served to nobody, yet stay in the tree."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command

from audit.ledger import (
    EntryExpired,
    inclusion_proof_for,
    latest_checkpoint,
    ledger_append,
    ledger_integrate,
    receipt_for,
)
from audit.models import LedgerEntry
from audit.tlog.merkle import verify_inclusion
from tests.support.events import TEST_EVENT

OLD = dt.datetime(2018, 4, 2, 10, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def append(n, moment):
    for _ in range(n):
        ledger_append(
            event_type=TEST_EVENT, fields={"request_id": str(uuid.uuid4())}, moment=moment
        )
    ledger_integrate()


@pytest.fixture
def aged_log(db):
    with time_machine.travel(OLD, tick=False):
        append(3, OLD)
    with time_machine.travel(NOW, tick=False):
        append(4, NOW)
        yield


def test_expired_entries_are_refused_but_later_proofs_verify(aged_log, settings):
    settings.AUDIT_RETENTION_DAYS = 7 * 365 + 2
    with pytest.raises(EntryExpired):
        receipt_for(1)
    assert "index 5" in receipt_for(5)
    checkpoint = latest_checkpoint()
    for seq in range(7):  # every entry, expired or not, is still a leaf of the signed tree
        leaf = bytes(LedgerEntry.objects.get(seq=seq).leaf_hash)
        verify_inclusion(seq, 7, leaf, inclusion_proof_for(seq, 7), bytes(checkpoint.root_hash))
    assert LedgerEntry.objects.count() == 7


def test_api_answers_gone_for_expired_entries(aged_log, client, django_user_model, settings):
    settings.AUDIT_RETENTION_DAYS = 7 * 365 + 2
    user = django_user_model.objects.create_user("aud", password="pw")
    user.groups.add(Group.objects.get_or_create(name="auditors")[0])
    client.force_login(user)
    assert client.get("/api/log/entries/0/receipt").status_code == 410
    assert client.get("/api/log/entries/0/inclusion").status_code == 410
    assert client.get("/api/log/entries/4/receipt").status_code == 200


def test_retention_report(aged_log, capsys, settings):
    settings.AUDIT_RETENTION_DAYS = 7 * 365 + 2
    call_command("audit_retention")
    out = capsys.readouterr().out
    assert "3 entries past retention (seq 0..2" in out
    settings.AUDIT_RETENTION_DAYS = 365 * 10
    call_command("audit_retention")
    assert "no entry has fallen out of retention" in capsys.readouterr().out
