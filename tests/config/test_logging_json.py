"""Structured logs (config/logging_json.py): one JSON object per line with UTC times, the
level, the logger, the message, the request id (nginx's or a new one, returned in
X-Request-ID) and the Celery task id; readable text for `make run`; masking on every handler;
errors mailed to ADMINS; the sequencer's start, checkpoints and failures."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import DatabaseError

from config.logging_json import JsonFormatter, RequestContextFilter, utc_timestamp
from config.security import MaskingLogFilter
from tests.support.factories import my_number_for

ROOT = Path(__file__).resolve().parents[2]
NUMBER = my_number_for(7)


@contextmanager
def console_lines():
    """What the configured console handler writes, as a list of lines, while in the block."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    lines: list[str] = []
    try:
        yield lines
    finally:
        handler.setStream(previous)
        lines.extend(stream.getvalue().splitlines())


def test_the_console_writes_one_json_object_per_line_masked():
    with console_lines() as lines:
        log = logging.getLogger("yaritori.test")
        try:
            raise ValueError(f"bad number {NUMBER}\nsecond line")
        except ValueError:
            log.exception("住民 %s を照会できません", NUMBER)
    assert len(lines) == 1, lines  # the traceback's line breaks stay inside the JSON string
    entry = json.loads(lines[0])
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "yaritori.test"
    assert entry["message"] == "住民 ●●●●-●●●●-●●●● を照会できません"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    assert "ValueError" in entry["exception"] and NUMBER not in lines[0]
    assert entry["request_id"] is None and entry["task_id"] is None


def test_times_are_utc_with_a_z_whatever_the_time_zone():
    # 2026-03-02 09:00:00.5 in Tokyo is 00:00:00.5 UTC.
    assert utc_timestamp(1772409600.5) == "2026-03-02T00:00:00.500Z"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.created = 1772409600.5
    assert json.loads(JsonFormatter().format(record))["time"] == "2026-03-02T00:00:00.500Z"


@pytest.mark.django_db
def test_a_request_id_from_nginx_is_kept_and_returned(client):
    given = "0123456789abcdef0123456789abcdef"  # nginx's $request_id
    with console_lines() as lines:
        response = client.post(
            "/staff/login/", {"username": "nobody", "password": "x"}, HTTP_X_REQUEST_ID=given
        )
    assert response["X-Request-ID"] == given
    failed = [json.loads(line) for line in lines if "login failed" in line]
    assert failed and failed[0]["request_id"] == given


@pytest.mark.django_db
@pytest.mark.parametrize("given", [None, "short", "a b c d e f g h", "x" * 129, "ok\nforged"])
def test_a_missing_or_malformed_request_id_is_replaced(client, given):
    extra = {} if given is None else {"HTTP_X_REQUEST_ID": given}
    response = client.get("/healthz", **extra)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert response["X-Request-ID"] != given
    # Each request gets its own.
    assert client.get("/healthz")["X-Request-ID"] != response["X-Request-ID"]


def test_a_task_logs_its_celery_task_id():
    from config.celery import app

    @app.task(name="tests.log_in_a_task")
    def log_in_a_task() -> None:
        logging.getLogger("yaritori.test").warning("inside the task")

    with console_lines() as lines:
        result = log_in_a_task.apply(task_id="5f0c9a8e-2d1b-4c3a-9e8f-7a6b5c4d3e2f")
    assert result.successful()
    entry = json.loads(next(line for line in lines if "inside the task" in line))
    assert entry["task_id"] == "5f0c9a8e-2d1b-4c3a-9e8f-7a6b5c4d3e2f"
    # Outside the task there is none.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    RequestContextFilter().filter(record)
    assert getattr(record, "task_id", "unset") is None


def test_the_worker_keeps_the_project_handlers():
    from django.conf import settings

    assert settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False
    # Every handler of the configuration masks (pytest adds capturing handlers of its own).
    logging_config: Any = settings.LOGGING
    for name, handler in logging_config["handlers"].items():
        assert "mask_secrets" in handler["filters"], name
    assert set(logging_config["root"]["handlers"]) == {"console", "mail_admins"}
    configured = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert configured and all(MaskingLogFilter in {type(f) for f in h.filters} for h in configured)


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "DATABASE_URL")}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


SAY = (
    "import django, logging; django.setup(); logging.getLogger('yaritori.x').warning('hello %s', 1)"
)


@pytest.mark.slow
def test_log_format_json_by_default_text_on_request_and_nothing_else(tmp_path):
    default = _python(SAY, YARITORI_VAR_DIR=str(tmp_path))
    assert json.loads(default.stderr.strip().splitlines()[-1])["message"] == "hello 1"
    text = _python(SAY, YARITORI_VAR_DIR=str(tmp_path), LOG_FORMAT="Text")
    assert re.search(r" WARNING yaritori\.x hello 1$", text.stderr.strip())
    wrong = _python(SAY, YARITORI_VAR_DIR=str(tmp_path), LOG_FORMAT="xml")
    assert wrong.returncode != 0
    assert (
        wrong.stderr.strip()
        .splitlines()[-1]
        .endswith("LOG_FORMAT='xml' is not a log format; use json or text.")
    )


def test_admins_come_from_the_environment(tmp_path):
    code = "import django; django.setup(); from django.conf import settings; print(settings.ADMINS)"
    result = _python(
        code,
        YARITORI_VAR_DIR=str(tmp_path),
        DJANGO_ADMINS="Audit Desk <audit@example.org>, ops@example.org",
    )
    assert result.stdout.strip() == (
        "[('Audit Desk', 'audit@example.org'), ('ops@example.org', 'ops@example.org')]"
    )


def test_an_error_from_any_logger_reaches_the_admins_masked(settings):
    settings.ADMINS = [("Audit Desk", "audit@example.org")]
    mail.outbox.clear()
    logging.getLogger("audit.sequencer").error("cannot integrate entry of %s", NUMBER)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["audit@example.org"]
    text = f"{message.subject}\n{message.body}"
    assert NUMBER not in text
    assert "●●●●-●●●●-●●●●" in text


# Transactional: the loop closes its connection after a failure, as in production, which a
# test wrapped in a transaction would not survive.
@pytest.mark.django_db(transaction=True)
def test_the_sequencer_logs_start_checkpoints_failures_and_recovery(monkeypatch, caplog, settings):
    from audit import sequencer
    from audit.ledger import ledger_integrate

    settings.ADMINS = [("Audit Desk", "audit@example.org")]
    mail.outbox.clear()
    calls = {"n": 0}

    def flaky(*, max_batch: int):
        calls["n"] += 1
        if calls["n"] in (2, 3, 4):
            raise DatabaseError("server closed the connection unexpectedly")
        return ledger_integrate(max_batch=max_batch)

    monkeypatch.setattr(sequencer, "ledger_integrate", flaky)
    monkeypatch.setattr(sequencer.time, "sleep", lambda seconds: None)
    caplog.set_level(logging.DEBUG, logger="audit.sequencer")
    sequencer.sequencer_loop(interval=0.01, batch=10, stop=lambda result: calls["n"] >= 5)
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages[0][0] == "INFO" and messages[0][1].startswith("sequencer started")
    assert ("DEBUG", "integrated 0 entries; checkpoint of size 0 signed") in messages
    levels = [level for level, text in messages if "integration failed" in text]
    assert levels == ["ERROR", "WARNING", "WARNING"]
    assert any(text.startswith("integration works again after 3 failures") for _, text in messages)
    assert messages[-1][1].startswith("sequencer stopped")
    assert len(mail.outbox) == 1  # one mail for the outage, not one per retry


def test_an_unexpected_error_in_the_sequencer_is_logged(monkeypatch, caplog):
    from audit import sequencer

    def broken(*, max_batch: int):
        raise RuntimeError("bug")

    monkeypatch.setattr(sequencer, "ledger_integrate", broken)
    with pytest.raises(RuntimeError):
        sequencer.sequencer_loop(interval=0.01, batch=10, stop=lambda result: False)
    assert caplog.records[-1].getMessage() == "sequencer stopped by an unexpected error"
    assert caplog.records[-1].levelname == "ERROR"


@pytest.mark.slow
def test_gunicorn_as_deployed_writes_json_lines_with_the_request_id(tmp_path):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOG_FORMAT")}
    env.update(YARITORI_VAR_DIR=str(tmp_path), WEB_CONCURRENCY="1")
    log = tmp_path / "gunicorn.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-c",
                "deploy/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "config.wsgi",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 60
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/healthz",
                headers={"X-Request-ID": "feedfacefeedfacefeedfacefeedface"},
            )
            while True:
                try:
                    with urllib.request.urlopen(request, timeout=2) as answer:
                        assert answer.headers["X-Request-ID"] == "feedfacefeedfacefeedfacefeedface"
                        break
                except OSError:
                    assert time.monotonic() < deadline, log.read_text()[-2000:]
                    time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=30)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [e for e in entries if e["logger"] == "gunicorn.access"]
    assert access and "GET /healthz" in access[-1]["message"]
    assert access[-1]["message"].endswith("rid=feedfacefeedfacefeedfacefeedface")
    assert any(e["logger"] == "gunicorn.error" for e in entries)
