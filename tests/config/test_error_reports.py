"""A view that fails while handling a My Number, a password or an API key must not put it
into the error report: the 500 page Django renders with DEBUG on, its text form, and the mail
AdminEmailHandler sends to ADMINS. Each test breaks the service the view calls, posts a real
secret, and reads every report of the failure."""

import sys
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.signals import got_request_exception
from django.db import DatabaseError
from django.forms.models import model_to_dict
from django.test import Client
from django.views.debug import ExceptionReporter, get_exception_reporter_class

from agencies.admin import PersonAdminForm
from agencies.api import views as api_views
from agencies.staff import views as staff_views
from tests.support.factories import my_number_for
from tests.support.world import agency_client

# Named here, far from the lines a report quotes around each frame.
NUMBER = my_number_for(4711)
TYPED = f"{NUMBER[:4]}-{NUMBER[4:8]}-{NUMBER[8:]}"  # as a clerk types it
PASSWORD = "correct horse battery staple"
ADMINS = [("Ops", "ops@example.invalid")]


@pytest.fixture
def failure(settings):
    """Catches the request and exception of the next 500, as Django's handler sees them."""
    settings.ADMINS = ADMINS
    caught = {}

    def receiver(sender, request=None, **kwargs):
        caught["request"], caught["exc_info"] = request, sys.exc_info()

    got_request_exception.connect(receiver)
    yield caught
    got_request_exception.disconnect(receiver)


def reports(caught, mailoutbox):
    """Every report of the failure: configured reporter (HTML, text), Django's ExceptionReporter
    with the configured filter (its data), and the error mail."""
    request, exc_info = caught["request"], caught["exc_info"]
    assert exc_info[0] is not None
    reporter_class: Any = get_exception_reporter_class(request)  # a class; the stub says not
    reporter = reporter_class(request, *exc_info)
    plain = ExceptionReporter(request, *exc_info).get_traceback_data()
    filtered = str(plain["filtered_POST_items"]) + str(plain["request_meta"])
    filtered += "".join(str(frame.get("vars")) for frame in plain["frames"])
    (mail,) = mailoutbox
    return {
        "html": reporter.get_traceback_html(),
        "text": reporter.get_traceback_text(),
        "filtered data": filtered,
        "mail": mail.subject + mail.body,
    }


def assert_hidden(caught, mailoutbox, *secrets):
    found = reports(caught, mailoutbox)
    assert "RuntimeError" in found["text"] or "DatabaseError" in found["text"]
    for name, report in found.items():
        for secret in secrets:
            assert secret not in report, f"{secret!r} in the {name}"


def raising(message):
    def broken(*args, **kwargs):
        raise RuntimeError(message)

    return broken


def test_staff_query_form(world, failure, mailoutbox, monkeypatch):
    # The typed number goes no further than the look-up in the organisation's own records.
    monkeypatch.setattr(
        staff_views, "subject_lookup", raising(f"records down while looking up {NUMBER}")
    )
    client = Client(raise_request_exception=False)
    client.force_login(world.clerk.user)
    response = client.post(
        "/staff/requests/new/",
        {
            "request_id": str(uuid.uuid4()),
            "route": f"{world.affair.pk}:{world.pension_item.pk}:{world.pension.pk}",
            "my_number": TYPED,
        },
    )
    assert response.status_code == 500
    assert_hidden(failure, mailoutbox, NUMBER, TYPED)


def test_admin_person_form(world, failure, mailoutbox, monkeypatch, admin_user):
    from agencies import admin as agencies_admin

    monkeypatch.setattr(
        agencies_admin, "person_set_my_number", raising(f"keyring unavailable for {NUMBER}")
    )
    person = world.person
    data = {
        k: ("" if v is None else v)
        for k, v in model_to_dict(person, fields=PersonAdminForm.Meta.fields).items()
    }
    data.update(new_my_number=TYPED, _save="Save")
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    response = client.post(f"/admin/agencies/person/{person.pk}/change/", data)
    assert response.status_code == 500
    assert_hidden(failure, mailoutbox, NUMBER, TYPED)


@pytest.mark.parametrize("url", ["/staff/login/", "/admin/login/"])
def test_login_forms(db, failure, mailoutbox, monkeypatch, url):
    get_user_model().objects.create_superuser("clerk", "c@example.invalid", PASSWORD)
    manager = type(get_user_model()._default_manager)

    def database_gone(self, username):
        raise DatabaseError("connection to the database lost")

    # The database fails in the middle of checking the password: the frames of the login form
    # and of the authentication backend hold the password.
    monkeypatch.setattr(manager, "get_by_natural_key", database_gone)
    client = Client(raise_request_exception=False)
    response = client.post(url, {"username": "clerk", "password": PASSWORD})
    assert response.status_code == 500
    assert_hidden(failure, mailoutbox, PASSWORD)


def test_agency_api(world, failure, mailoutbox, monkeypatch):
    monkeypatch.setattr(
        api_views, "linkage_request_send", raising(f"provider timed out for {NUMBER}")
    )
    client = agency_client(world.clerk)
    client.raise_request_exception = False
    body = {
        "request_id": str(uuid.uuid4()),
        "affair": world.affair.code,
        "item": world.pension_item.code,
        "provider": world.pension.code,
        "my_number": NUMBER,
    }
    response = client.post("/api/agency/requests", body, format="json")
    assert response.status_code == 500
    credential = client._credentials["HTTP_X_OPERATOR_CREDENTIAL"]
    assert_hidden(failure, mailoutbox, NUMBER, client.system_key, credential)
