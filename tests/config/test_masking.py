"""What hides a My Number (or a key) in free text, in every log record and in error reports."""

import io
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, get_exception_reporter_class

from agencies.codes import my_number_check_digit
from config.security import (
    MY_NUMBER_MASK,
    MaskingExceptionReporterFilter,
    MaskingLogFilter,
    contains_my_number,
    mask_secrets,
)


def valid(first_eleven: str) -> str:
    return first_eleven + str(my_number_check_digit(first_eleven))


NUMBER = valid("98320567321")
WRONG_CHECK = NUMBER[:11] + str((int(NUMBER[11]) + 1) % 10)
FULL_WIDTH = NUMBER.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
KEY = "yk_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"
# Secrets that the error reports below must not show. They are named, not written, near the
# code that raises: a report quotes the source lines around each frame.
PASSWORD = "hunter2-but-longer"
PIN = "４８２１"  # full width, as an IME types it (and no address in a report holds it)
TOKEN = "tok-123456"
SECRETS = (NUMBER, PASSWORD, PIN, TOKEN, KEY)


@pytest.mark.parametrize(
    "text",
    [
        NUMBER,
        f"my_number={NUMBER}&x=1",
        f"{NUMBER[:4]}-{NUMBER[4:8]}-{NUMBER[8:]}",
        f"{NUMBER[:4]} {NUMBER[4:8]} {NUMBER[8:]}",
        FULL_WIDTH,
        f"番号{FULL_WIDTH}の照会",
        f"{{'my_number': '{NUMBER}'}}",
    ],
)
def test_a_my_number_is_masked_however_written(text):
    assert contains_my_number(text)
    masked = mask_secrets(text)
    assert MY_NUMBER_MASK in masked
    assert not contains_my_number(masked)
    assert NUMBER not in masked and FULL_WIDTH not in masked


@pytest.mark.parametrize(
    "text",
    [
        WRONG_CHECK,  # 12 digits, wrong check digit: not a My Number
        "000000000012345",  # a 15-digit 宛名番号 holds 12-digit runs, but is not one
        "0110020000000001",  # a 16-digit institution code
        f"1{NUMBER}",  # a longer run of digits
        "JT01010000000214",
        "2026-06-10 01:30:00",
    ],
)
def test_other_numbers_are_left_alone(text):
    assert mask_secrets(text) == text


def test_api_keys_and_bearer_credentials_are_masked():
    assert KEY not in mask_secrets(f"key {KEY} refused")
    assert "s3cr3t-t0ken-value-123" not in mask_secrets(
        "Authorization: Bearer s3cr3t-t0ken-value-123"
    )


def _configured_handler(logger: logging.Logger, kind: type) -> logging.Handler:
    found = [h for h in logger.handlers if isinstance(h, kind)]
    assert found, f"no {kind.__name__} on logger {logger.name!r}"
    return found[0]


def test_the_console_log_never_shows_a_my_number(monkeypatch):
    # The handler LOGGING installs on the root logger, writing into a buffer for the test.
    handler = _configured_handler(logging.getLogger(), logging.StreamHandler)
    assert any(isinstance(f, MaskingLogFilter) for f in handler.filters)
    buffer = io.StringIO()
    monkeypatch.setattr(handler, "stream", buffer)
    log = logging.getLogger("yaritori.test")
    log.warning("subject %s not found", NUMBER)
    log.warning("key was %s", KEY)
    try:
        raise ValueError(f"bad subject {FULL_WIDTH}")
    except ValueError:
        log.exception("lookup failed for %s", f"{NUMBER[:4]}-{NUMBER[4:8]}-{NUMBER[8:]}")
    written = buffer.getvalue()
    assert written.count(MY_NUMBER_MASK) == 3
    assert "ValueError: bad subject" in written  # the traceback is kept, the number is not
    assert NUMBER not in written and FULL_WIDTH not in written and KEY not in written


def test_the_filter_keeps_every_record_and_its_other_text():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s b %d", (NUMBER, 7), None)
    assert MaskingLogFilter().filter(record) is True
    assert record.getMessage() == f"a {MY_NUMBER_MASK} b 7"
    broken = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s %s", ("only one",), None)
    assert MaskingLogFilter().filter(broken) is True  # the handler reports the bad format


def _raise_with_secrets_in_locals():
    note = f"asked about {NUMBER}"  # an innocent-looking name
    password = PASSWORD  # noqa: F841 - read by the error report
    card_pin = PIN  # noqa: F841
    options = {"token": TOKEN, "subject": NUMBER}  # noqa: F841
    raise RuntimeError(f"network down ({note})")


def test_error_report_of_a_view_hides_post_variables_and_message(settings):
    request = RequestFactory().post(
        "/somewhere/",
        {"subject": NUMBER, "password": PASSWORD, "pin": PIN, "keep": "visible"},
        HTTP_AUTHORIZATION=f"Bearer {KEY}",
    )
    try:
        _raise_with_secrets_in_locals()
    except RuntimeError:
        exc_info = sys.exc_info()
    reporter_class: Any = get_exception_reporter_class(request)  # a class; the stub says not
    assert issubclass(reporter_class, ExceptionReporter)
    reporter = reporter_class(request, *exc_info)
    assert isinstance(reporter.filter, MaskingExceptionReporterFilter)
    for report in (reporter.get_traceback_html(), reporter.get_traceback_text()):
        for secret in SECRETS:
            assert secret not in report
        assert "visible" in report
        assert "network down" in report
    # Django's own reporter with the configured filter: POST data and variables are hidden by
    # the filter alone (the exception message is the reporter's, tested above).
    data = ExceptionReporter(request, *exc_info).get_traceback_data()
    shown = str(data["filtered_POST_items"]) + str(data["request_meta"])
    shown += "".join(str(frame.get("vars")) for frame in data["frames"])
    for secret in SECRETS:
        assert secret not in shown


def test_error_mail_hides_them_too(settings, mailoutbox):
    settings.ADMINS = [("Ops", "ops@example.invalid")]
    # On the root logger: every logger's errors reach the administrators (config/settings.py).
    handler = _configured_handler(logging.getLogger(), AdminEmailHandler)
    request = RequestFactory().post("/somewhere/", {"subject": NUMBER})
    try:
        _raise_with_secrets_in_locals()
    except RuntimeError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal error %s",
            (NUMBER,),
            sys.exc_info(),
        )
    record.request = request
    record.status_code = 500
    handler.handle(record)
    (mail,) = mailoutbox
    assert NUMBER not in mail.subject + mail.body
    assert PASSWORD not in mail.body
    assert "network down" in mail.body


def test_the_celery_worker_logs_through_the_masking_handler(tmp_path):
    # What `celery worker` does to logging when it starts, in a process of its own.
    code = (
        "import django, logging; django.setup()\n"
        "from config.celery import app\n"
        "app.log.setup(loglevel='INFO')\n"
        "root = logging.getLogger()\n"
        "print(all('MaskingLogFilter' in {type(f).__name__ for f in h.filters}"
        " for h in root.handlers), len(root.handlers))\n"
        "logging.getLogger('celery.task').warning('asked about %s', '" + NUMBER + "')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(YARITORI_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # Every handler masks: the project's own (the worker keeps them, not hijacking the root
    # logger), console and error mail.
    assert done.stdout.strip() == "True 2"
    assert f"asked about {MY_NUMBER_MASK}" in done.stderr
    assert NUMBER not in done.stderr
