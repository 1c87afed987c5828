"""The integrity panel: the latest signed checkpoint, each witness's cosignature and its age,
full verification runs as a Celery task with progress, the integration delay; a failed
verification or a witness refusal shown in red and mailed to the national auditors at once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from audit.db_guards import triggers_disabled
from audit.ledger import latest_checkpoint, ledger_append, ledger_integrate, log_signer
from audit.models import LedgerIntake
from audit.tlog.checkpoint import Checkpoint as CheckpointBody
from audit.tlog.note import sign_note
from audit.tlog.witness import WitnessRefusal
from audit.witnessing import witness_run
from core.models import OutboxMessage
from dashboard.models import VerificationRun, VerificationStatus, WitnessRefusalRecord
from dashboard.progress import progress_of
from dashboard.services import verification_perform, verification_request
from dashboard.tasks import verify_log_task
from tests.support.events import TEST_EVENT


@pytest.fixture
def eager():
    """Celery tasks run in the caller (as CELERY_TASK_ALWAYS_EAGER would)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def witness(settings, tmp_path):
    settings.WITNESS_DIR = tmp_path / "witness"
    settings.PORTAL_WITNESS_KEYS = []
    return settings.WITNESS_DIR


def _tamper(seq: int) -> None:
    """Rewrite an entry's bytes as the database owner could (the triggers taken down)."""
    with triggers_disabled(connection):
        intake = LedgerIntake.objects.get(entry__seq=seq)
        LedgerIntake.objects.filter(pk=intake.pk).update(
            leaf=intake.leaf.replace('"provided"', '"refused"')
        )


def test_the_panel_shows_the_checkpoint_and_each_witness_with_its_age(clients, traffic, witness):
    witness_run(directory=witness, now=int(timezone.now().timestamp()) - 90)
    page = clients.officer.get("/audit/integrity/")
    status = page.context["status"]
    assert status.checkpoint.size == latest_checkpoint().size
    [w] = status.witnesses
    assert w.name == "witness.yaritori.invalid" and w.state == "ok"
    assert w.cosigned_size == status.checkpoint.size
    assert dt.timedelta(seconds=89) < w.age < dt.timedelta(seconds=120)
    assert status.ok and 'id="alarm"' not in page.content.decode()
    assert "witness.yaritori.invalid" in page.content.decode()


def test_a_witness_that_falls_behind_is_shown_as_such(clients, traffic, witness, settings):
    witness_run(directory=witness, now=int(timezone.now().timestamp()) - 3600)
    ledger_append(event_type=TEST_EVENT, fields={"request_id": str(uuid.uuid4())})
    ledger_integrate()
    [w] = clients.national.get("/audit/integrity/").context["status"].witnesses
    assert w.state == "behind"


def test_a_verification_runs_as_a_task_and_reports_its_progress(
    clients, traffic, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = clients.national.post("/audit/integrity/verify/")
    assert response.status_code == 302
    run = VerificationRun.objects.get()
    assert run.status == VerificationStatus.OK
    assert run.requested_by.username == "national.auditor"
    assert run.size == latest_checkpoint().size
    assert run.duration is not None
    assert run.checkpoints_checked is not None and run.checkpoints_checked >= 1
    assert progress_of(run.pk) == (run.size, run.size)
    progress = clients.national.get(f"/audit/integrity/runs/{run.pk}/progress.json").json()
    assert progress == {
        "status": "ok",
        "done": run.size,
        "total": run.size,
        "percent": 100.0,
        "active": False,
    }
    page = clients.national.get("/audit/integrity/")
    assert page.context["status"].last_finished == run and page.context["status"].ok
    assert not OutboxMessage.objects.exists()


def test_a_run_in_progress_is_shown_with_its_bar(clients, traffic):
    run = verification_request(user=clients.national.session_user)
    page = clients.national.get("/audit/integrity/").content.decode()
    assert 'id="verify-run"' in page and "<progress" in page
    assert f"/audit/integrity/runs/{run.pk}/progress.json" in page
    # Asking again while one is queued gives the same run, not a second.
    assert verification_request(user=clients.national.session_user) == run
    assert 'id="run-verify"' not in page


@pytest.fixture
def _session_users(clients, national):
    clients.national.session_user = national


pytestmark = pytest.mark.usefixtures("_session_users")


def test_a_tampered_log_fails_turns_the_panel_red_and_mails_the_auditors(
    clients, traffic, national, officer
):
    _tamper(traffic.city[1])
    run = verification_request(user=national)
    verify_log_task(run.pk)
    run.refresh_from_db()
    assert run.status == VerificationStatus.FAILED
    assert (run.damage_seq, run.damage_kind) == (traffic.city[1], "payload")
    page = clients.officer.get("/audit/integrity/")
    text = page.content.decode()
    assert 'id="alarm"' in text and 'role="alert"' in text
    assert f"seq {traffic.city[1]}: payload" in text
    home = clients.officer.get("/audit/").content.decode()
    assert "tile bad" in home
    [mail] = OutboxMessage.objects.filter(kind="dashboard_verify_failed")
    assert mail.to == national.email  # national auditors only, not the privacy officer
    assert f"seq {traffic.city[1]}: payload" in mail.body
    # The task is idempotent: run again, nothing changes and nothing more is sent.
    verify_log_task(run.pk)
    assert OutboxMessage.objects.count() == 1


def test_a_witness_refusal_is_red_and_mailed_at_once(clients, traffic, witness, national):
    witness_run(directory=witness)
    size = latest_checkpoint().size
    forked = sign_note(
        CheckpointBody(latest_checkpoint().note.split("\n")[0], size, b"\x07" * 32).to_text(),
        [log_signer()],
    )
    with pytest.raises(WitnessRefusal):
        witness_run(directory=witness, signed_note=forked)
    [refusal] = WitnessRefusalRecord.objects.all()
    assert refusal.witness == "witness.yaritori.invalid" and refusal.size == size
    [mail] = OutboxMessage.objects.filter(kind="dashboard_witness_refused")
    assert mail.to == national.email
    status = clients.national.get("/audit/integrity/").context["status"]
    assert status.alarms == ["witness"] and status.witnesses[0].state == "refused"
    # A later cosignature of a genuine checkpoint clears the alarm.
    ledger_append(event_type=TEST_EVENT, fields={"request_id": str(uuid.uuid4())})
    ledger_integrate()
    witness_run(directory=witness, now=int(timezone.now().timestamp()) + 5)
    assert clients.national.get("/audit/integrity/").context["status"].ok


def test_only_national_auditors_start_a_verification(clients, traffic, officer):
    from dashboard.access import NotAllowed

    with pytest.raises(NotAllowed):
        verification_request(user=officer)
    clients.officer.post("/audit/integrity/verify/")
    assert not VerificationRun.objects.exists()
    assert 'id="run-verify"' not in clients.officer.get("/audit/integrity/").content.decode()


def test_an_abandoned_run_makes_way_for_a_new_one(traffic, national):
    stuck = VerificationRun.objects.create(
        requested_at=timezone.now() - dt.timedelta(hours=2), status=VerificationStatus.RUNNING
    )
    run = verification_request(user=national)
    assert run != stuck
    stuck.refresh_from_db()
    assert stuck.status == VerificationStatus.ERROR and "abandoned" in stuck.detail
    assert verification_perform(run_id=stuck.pk).status == VerificationStatus.ERROR


def test_the_integration_delay_is_the_age_of_the_oldest_entry_not_in_the_chain(
    clients, traffic, settings
):
    status = clients.national.get("/audit/integrity/").context["status"]
    assert status.delay is None and status.delay_state == "ok"
    ledger_append(
        event_type=TEST_EVENT,
        fields={"request_id": str(uuid.uuid4())},
        moment=timezone.now() - dt.timedelta(seconds=30),
    )
    status = clients.national.get("/audit/integrity/").context["status"]
    assert dt.timedelta(seconds=29) < status.delay < dt.timedelta(seconds=60)
    assert status.delay_state == "warn"  # beyond 5 s, not yet 50 s
    settings.DASHBOARD_DELAY_WARN_SECONDS = 1
    assert clients.national.get("/audit/integrity/").context["status"].delay_state == "bad"
