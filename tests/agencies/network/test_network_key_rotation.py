"""Rotating NETWORK_TOKEN_KEY as docs/operations.md says: pin the ledger subject key, change the
network key, reissue every 符号 (manage.py network_key_rotate). The network keeps answering, the
副本 stay with their 符号, every resident's history stays whole, and the reissue is recorded
without a secret."""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from agencies.models import InstitutionToken, LinkageStatus, ProvisionCopy
from agencies.network_key import institution_tokens_reissue
from agencies.tokens import derive_institution_token
from audit.entries import parse_leaf, subject_key, subject_pseudonym
from audit.ledger import ledger_integrate
from audit.models import LedgerIntake
from portal.selectors import RecordFilter, records_of
from tests.support.factories import send_request

ROOT = Path(__file__).resolve().parents[3]
NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)  # a Wednesday, 10:30 in Tokyo
OLD_KEY = base64.b64encode(bytes(range(32))).decode()
NEW_KEY = base64.b64encode(bytes(range(32, 64))).decode()


@pytest.fixture
def old_key(settings):
    """The deployment before the rotation: the old network key, the subject key derived."""
    settings.NETWORK_TOKEN_KEY = OLD_KEY
    settings.LEDGER_SUBJECT_KEY = ""
    return settings


@pytest.fixture
def rotating(old_key, world):
    """The world under the old key with one answered request on the ledger."""
    assert send_request(world, now=NOW).request.status == LinkageStatus.PROVIDED
    return world


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("network_key_rotate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def printed_subject_key() -> str:
    out, err = run("--print-subject-key")
    assert "SECRET" in err and "LEDGER_SUBJECT_KEY" in err
    return out.strip()


def tokens() -> dict[int, str]:
    return dict(InstitutionToken.objects.values_list("pk", "token"))


def intake_types() -> list[str]:
    return list(LedgerIntake.objects.order_by("id").values_list("event_type", flat=True))


def test_the_rotation_keeps_tokens_copies_queries_and_histories(rotating, settings):
    world = rotating
    subject = subject_pseudonym(str(world.person.public_id))
    copies = {c.pk: (c.token_id, c.token.person_id) for c in ProvisionCopy.objects.all()}
    before = tokens()
    assert len(before) == 4

    # 1. Pin what the old key derives; 2. roll the new network key.
    pinned = printed_subject_key()
    settings.LEDGER_SUBJECT_KEY = pinned
    settings.NETWORK_TOKEN_KEY = NEW_KEY
    assert subject_pseudonym(str(world.person.public_id)) == subject
    out, _ = run("status")
    assert "符号: 4, of which 4 not under the NETWORK_TOKEN_KEY in effect" in out
    assert "first request's entry: matches" in out

    # 3. Reissue.
    out, err = run("reissue")
    assert "reissued 4 of 4 符号" in out and err == ""
    after = tokens()
    assert after.keys() == before.keys()  # rows updated in place
    for token in InstitutionToken.objects.select_related("institution", "person"):
        assert after[token.pk] != before[token.pk]
        assert token.token == derive_institution_token(
            institution_code=token.institution.code, person_public_id=str(token.person.public_id)
        )
    assert {c.pk: (c.token_id, c.token.person_id) for c in ProvisionCopy.objects.all()} == copies
    assert "of which 0 not under" in run("status")[0]

    # The network still answers from the 副本, and the entry has the same subject.
    outcome = send_request(world, now=NOW + dt.timedelta(minutes=5))
    assert outcome.request.status == LinkageStatus.PROVIDED
    assert outcome.request.payload == {"年金種別": "老齢基礎年金", "年額": 780000}
    leaves = [
        parse_leaf(leaf) for (leaf,) in LedgerIntake.objects.order_by("id").values_list("leaf")
    ]
    assert [r.event_type for r in leaves] == [
        "linkage.request",
        "tokens.reissued",
        "linkage.request",
    ]
    assert leaves[0].subject == leaves[2].subject == subject

    # The resident's page shows both requests: the history is whole.
    history = records_of(subject=world.person, filters=RecordFilter())
    assert len([r for r in history.rows if r.event_type == "linkage.request"]) == 2

    # The recorded reissue: counts and who, no subject, no key in any form.
    reissue = leaves[1]
    assert dict(reissue.fields) == {"reissued": "4", "unchanged": "0", "actor": "system"}
    assert reissue.subject == ""
    raw = LedgerIntake.objects.get(event_type="tokens.reissued").leaf
    for secret in (pinned, OLD_KEY, NEW_KEY):
        for form in (secret, base64.b64decode(secret).hex(), secret.rstrip("=")):
            assert form not in raw

    # And the log verifies across the rotation.
    ledger_integrate()
    verified = StringIO()
    call_command("audit_verify", stdout=verified)
    assert "entries 0..2 verified" in verified.getvalue()


def test_reissue_is_idempotent(rotating, settings):
    settings.LEDGER_SUBJECT_KEY = printed_subject_key()
    settings.NETWORK_TOKEN_KEY = NEW_KEY
    first = institution_tokens_reissue()
    assert (first.reissued, first.unchanged) == (4, 0)
    after, entries = tokens(), intake_types()
    out, _ = run("reissue")
    assert out.startswith("nothing to reissue: all 4 符号 are already under")
    assert tokens() == after
    assert intake_types() == entries  # nothing happened, nothing recorded
    # A 符号 issued meanwhile by a process still on the old key is caught by the next run.
    InstitutionToken.objects.filter(pk=min(after)).update(token="STALE" * 5 + "A")
    again = institution_tokens_reissue()
    assert (again.reissued, again.unchanged) == (1, 3)
    assert tokens() == after
    assert intake_types().count("tokens.reissued") == 2


def test_reissue_refuses_unless_the_subject_key_is_pinned(rotating, settings):
    settings.NETWORK_TOKEN_KEY = NEW_KEY  # rolled without pinning: the ledger would split
    before, entries = tokens(), intake_types()
    with pytest.raises(CommandError) as error:
        run("reissue")
    message = str(error.value)
    assert message.startswith("LEDGER_SUBJECT_KEY is not set")
    assert "\n" not in message and error.value.returncode == 1
    assert NEW_KEY not in message and OLD_KEY not in message
    assert tokens() == before and intake_types() == entries


def test_reissue_refuses_a_subject_key_the_ledger_was_not_written_with(rotating, settings):
    # The classic mistake: the key printed after the network key had already changed.
    settings.NETWORK_TOKEN_KEY = NEW_KEY
    with pytest.raises(CommandError, match="ledger subject key in effect is not the one"):
        run("--print-subject-key")
    wrong = base64.b64encode(bytes(range(64, 96))).decode()
    settings.LEDGER_SUBJECT_KEY = wrong
    before, entries = tokens(), intake_types()
    with pytest.raises(CommandError) as error:
        run("reissue")
    assert "not the one the ledger was written with" in str(error.value)
    assert wrong not in str(error.value) and "\n" not in str(error.value)
    assert tokens() == before and intake_types() == entries
    with pytest.raises(CommandError, match="is not the ledger's"):
        run("status")


def test_entries_written_under_another_subject_key_are_reported(rotating, settings):
    pinned = printed_subject_key()
    # One process got the new network key before the pin: its entry is split.
    settings.NETWORK_TOKEN_KEY = NEW_KEY
    send_request(rotating, now=NOW + dt.timedelta(minutes=1))
    settings.LEDGER_SUBJECT_KEY = pinned
    out, _ = run("reissue")  # the pin is right: the reissue goes ahead, and says what it saw
    assert "reissued 4 of 4" in out
    with pytest.raises(CommandError, match="entries under another ledger subject key"):
        run("status")
    _, err = run("--print-subject-key")
    assert "entries under another ledger subject key" in err


def test_a_new_log_has_nothing_to_compare(old_key, world):
    out, _ = run("status")
    assert "first request's entry: none yet" in out
    assert "ledger subject key: derived from NETWORK_TOKEN_KEY" in out
    assert printed_subject_key() == base64.b64encode(subject_key()).decode()


def test_the_command_takes_one_step_at_a_time(old_key, db):
    for args in ((), ("reissue", "--print-subject-key")):
        with pytest.raises(CommandError, match="either --print-subject-key or one of"):
            run(*args)


def test_refusal_from_the_shell_is_one_line_and_fails(tmp_path):
    """As an operator runs it: exit status 1, one line on stderr, no traceback, no key."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "LEDGER_SUBJECT_KEY", "NETWORK_TOKEN_KEY"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        YARITORI_VAR_DIR=str(tmp_path),
        NETWORK_TOKEN_KEY=NEW_KEY,
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "network_key_rotate", "reissue"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("CommandError: LEDGER_SUBJECT_KEY is not set")
    assert NEW_KEY not in result.stderr
    assert "Traceback" not in result.stderr
