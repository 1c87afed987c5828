"""Celery done properly: Redis in production and the filesystem transport by default, JSON
only, the beat schedule in code, tasks that take ids and are idempotent, acks_late, time
limits, bounded retries with backoff, and work queued only after its transaction commits."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import transaction

from config.celery import app
from core import tasks as core_tasks
from core.outbox import outbox_enqueue
from detection import tasks
from tests.test_layers import ROOT


def _settings_of(env: dict[str, str], *names: str) -> list[str]:
    """Values of settings in a fresh process with env (the settings read the environment)."""
    code = "import django; django.setup(); from django.conf import settings; " + "; ".join(
        f"print(repr(settings.{n}))" for n in names
    )
    clean = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


def test_the_broker_is_the_filesystem_by_default_and_redis_when_named(tmp_path):
    url, options = _settings_of(
        {"YARITORI_VAR_DIR": str(tmp_path)},
        "CELERY_BROKER_URL",
        "CELERY_BROKER_TRANSPORT_OPTIONS",
    )
    assert url == "'filesystem://'"
    # Producer and worker meet only in the same folder.
    assert "'data_folder_in': '" + str(tmp_path) in options
    url, options = _settings_of(
        {"YARITORI_VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"},
        "CELERY_BROKER_URL",
        "CELERY_BROKER_TRANSPORT_OPTIONS",
    )
    assert url == "'redis://127.0.0.1:6379/0'" and "'visibility_timeout': 3600" in options


def test_json_only_both_ways():
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json" and app.conf.result_serializer == "json"


def test_the_beat_schedule_is_in_code():
    schedule: dict = settings.CELERY_BEAT_SCHEDULE
    scan: dict = schedule["detection-scan"]
    assert scan["task"] == "detection.scan" and scan["schedule"] <= 5
    assert scan["options"]["expires"] >= scan["schedule"]  # piled-up scans expire
    assert isinstance(schedule["detection-daily-digests"]["schedule"], crontab)
    assert schedule["outbox-sweep"]["task"] == "core.outbox_sweep"
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    registered = set(app.tasks)
    assert {entry["task"] for entry in schedule.values()} <= registered


@pytest.mark.parametrize(
    "task",
    [tasks.scan_task, tasks.digest_task, tasks.daily_digests_task, core_tasks.outbox_deliver_task],
)
def test_tasks_are_acks_late_with_time_limits(task):
    assert task.acks_late is True
    assert (task.time_limit or app.conf.task_time_limit) and (
        task.soft_time_limit or app.conf.task_soft_time_limit
    )
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


@pytest.mark.parametrize("task", [tasks.scan_task, tasks.digest_task])
def test_retries_are_bounded_and_backed_off(task):
    assert 0 < task.max_retries <= 10
    assert task.retry_backoff and task.retry_backoff_max and task.retry_jitter


def test_a_publisher_never_hangs_on_a_dead_broker():
    policy = app.conf.task_publish_retry_policy
    assert policy["max_retries"] <= 3 and policy["interval_max"] <= 1


@pytest.mark.django_db(transaction=True)
def test_work_is_queued_only_after_its_transaction_commits(monkeypatch):
    queued: list = []
    monkeypatch.setattr(core_tasks.outbox_deliver_task, "delay", queued.append)
    monkeypatch.setattr(tasks.digest_task, "delay", lambda *a: queued.append(a))
    with transaction.atomic():
        message = outbox_enqueue(
            kind="t", dedupe_key="k", to="a@example.org", subject="s", body="b"
        )
        tasks.daily_digests_task.run(day="2026-06-03")
        assert queued == []  # nothing leaves before COMMIT
    assert queued[0] == message and ("2026-06-03" in queued[1])

    def rolled_back():
        with transaction.atomic():
            outbox_enqueue(kind="t", dedupe_key="k2", to="a@example.org", subject="s", body="b")
            tasks.daily_digests_task.run(day="2026-06-04")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        rolled_back()
    assert len(queued) == 2  # neither the mail nor the digests of the rolled-back one


def test_tasks_take_json_values_only():
    """Arguments are ids and ISO dates: they survive JSON unchanged."""
    import json

    for args in [(None, "2026-06-03"), (3, "2026-06-03")]:
        assert tuple(json.loads(json.dumps(args))) == args
