"""Resilience on PostgreSQL and Redis: with Redis stopped while traffic flows, requests and
ledger entries go on; when Redis returns, the scans catch up with no lost and no duplicated
alert or mail.

Real processes: a redis-server of the test's own on a free port (killed and started again),
a Celery worker with its embedded beat (the deployment's `celery worker -B`) on that broker
and on the test database, and a real SMTP server (aiosmtpd). The test sends the traffic
through the network service and runs the sequencer."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from audit.ledger import ledger_integrate
from audit.models import LedgerEntry
from core.calendar import TOKYO
from core.models import OutboxMessage
from detection.models import Alert, ScanWatermark
from tests.detection.helpers import ask, clerk, open_case, resident
from tests.smtp import smtp_server

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]
ROOT = Path(__file__).resolve().parents[2]
DAY = dt.datetime(2026, 6, 3, 9, 0, tzinfo=TOKYO)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_redis(port: int) -> subprocess.Popen[bytes]:
    redis = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(lambda: _answers(port), 10, "redis-server did not start")
    return redis


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait(condition: Callable[[], bool], seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.2)


def _worker(broker: str, smtp_port: int, var_dir: Path) -> subprocess.Popen[bytes]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "DETECTION_SCAN_INTERVAL": "1",
        "YARITORI_VAR_DIR": str(var_dir),
        # The test process's keys: the worker must read the same pseudonyms.
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "NETWORK_TOKEN_KEY": settings.NETWORK_TOKEN_KEY,
        "MYNUMBER_ENCRYPTION_KEYS": settings.MYNUMBER_ENCRYPTION_KEYS,
        "MYNUMBER_BLIND_INDEX_KEY": settings.MYNUMBER_BLIND_INDEX_KEY,
        "AUDIT_LOG_SIGNING_KEY": settings.AUDIT_LOG_SIGNING_KEY,
    }
    log = (var_dir / "worker.log").open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-B",
            "--pool",
            "solo",
            "-l",
            "info",
            "-s",
            str(var_dir / "beat-schedule"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _integrate() -> int:
    while ledger_integrate().integrated:
        pass
    return LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or -1


def _caught_up(head: int) -> bool:
    row = ScanWatermark.objects.filter(name="default").values_list("last_seq", flat=True)
    return bool(row) and row[0] == head


def test_redis_down_loses_and_repeats_nothing(world, officers, tmp_path):
    port = _free_port()
    redis = _start_redis(port)
    staff = [clerk(world, department=world.clerk.department) for _ in range(6)]
    people = [resident(world) for _ in range(6)]
    cases = [
        open_case(world, s, p, now=DAY - dt.timedelta(days=1))
        for s, p in zip(staff, people, strict=True)
    ]

    def traffic(members, minute):
        """Each clerk: an ordinary request under their case and two refused attempts out of
        the permitted table (one high-severity alert, and its mail, per clerk and day)."""
        outcomes = []
        for k in members:
            when = DAY + dt.timedelta(minutes=minute + k)
            outcomes.append(ask(world, staff[k], people[k], case=cases[k], now=when))
            for j in range(2):
                outcomes.append(
                    ask(
                        world,
                        staff[k],
                        people[k],
                        item=world.resident_item,
                        now=when + dt.timedelta(seconds=10 + j),
                    )
                )
        return outcomes

    with smtp_server() as (inbox, smtp_port):
        worker = _worker(f"redis://127.0.0.1:{port}/0", smtp_port, tmp_path)
        try:
            # Redis up: three clerks' traffic is scanned and mailed.
            traffic(range(3), 0)
            head = _integrate()
            _wait(
                lambda: _caught_up(head) and len(inbox.messages) == 3,
                90,
                "the first alerts were not mailed",
            )

            # Redis stopped while traffic flows: requests are answered and recorded.
            _stop(redis)
            outcomes = traffic(range(3, 6), 30)
            assert [o.request.status for o in outcomes].count("refused") == 6
            head = _integrate()
            time.sleep(3)  # beat keeps trying to send scans into the void
            assert not _caught_up(head)
            assert len(inbox.messages) == 3

            # Redis back: the scans catch up from the watermark, the mails go out.
            redis = _start_redis(port)
            _wait(
                lambda: _caught_up(head) and len(inbox.messages) >= 6,
                120,
                "the scans did not catch up after Redis returned",
            )
            time.sleep(4)  # a few more beats: nothing may be repeated
        finally:
            _stop(worker)
            _stop(redis)

    alerts = list(Alert.objects.order_by("staff_pseudonym"))
    assert [(a.rule, a.staff_pseudonym, a.entry_count) for a in alerts] == sorted(
        ("hard.out_of_table", s.audit_pseudonym, 2) for s in staff
    )
    assert len(inbox.messages) == 6
    assert sorted(m["Subject"] for m in inbox.messages) == sorted(
        {m["Subject"] for m in inbox.messages}
    )
    assert {m["To"] for m in inbox.messages} == {officers.city.email}
    assert OutboxMessage.objects.filter(status="sent").count() == 6
