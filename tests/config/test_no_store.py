"""No page or API answer with personal data may be kept by a browser or a proxy:
`Cache-Control: no-store` unless the view says otherwise; only static files and the public
log checkpoint may be cached."""

import uuid

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from audit.ledger import latest_checkpoint, ledger_append, ledger_integrate
from tests.support.events import TEST_EVENT
from tests.support.factories import request_body, send_request
from tests.support.world import agency_client


def assert_no_store(response):
    directives = {d.strip().split("=")[0] for d in response["Cache-Control"].split(",")}
    assert "no-store" in directives, response["Cache-Control"]
    assert "public" not in directives
    assert response["Pragma"] == "no-cache"


@pytest.fixture
def clerk_client(world):
    client = Client()
    client.force_login(world.clerk.user)
    return client


def test_staff_pages(world, clerk_client):
    sent = send_request(world)
    for path in [
        "/staff/",
        "/staff/requests/",
        "/staff/requests/new/",
        f"/staff/requests/{sent.request.request_id}/",
        "/staff/held/",
    ]:
        response = clerk_client.get(path)
        assert response.status_code == 200, path
        assert_no_store(response)
    # The answer to a form post, and the redirect to the login page.
    posted = clerk_client.post("/staff/requests/new/", {"request_id": str(uuid.uuid4())})
    assert posted.status_code == 400
    assert_no_store(posted)
    assert_no_store(Client().get("/staff/"))


def test_admin_pages(world, admin_client):
    for path in [
        "/admin/",
        "/admin/agencies/person/",
        f"/admin/agencies/person/{world.person.pk}/change/",
    ]:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert_no_store(response)


def test_agency_api(world):
    client = agency_client(world.clerk)
    data = request_body()
    sent = client.post("/api/agency/requests", data, format="json")
    assert sent.status_code == 201
    assert_no_store(sent)
    read = client.get(f"/api/agency/requests/{data['request_id']}")
    assert read.json()["payload"]  # personal data in the answer
    assert_no_store(read)
    assert_no_store(client.get("/api/agency/held"))
    assert_no_store(APIClient().get("/api/agency/held"))  # the 401 too


@pytest.fixture
def log(db):
    while latest_checkpoint() is None or latest_checkpoint().size < 3:
        ledger_append(
            event_type=TEST_EVENT,
            fields={"request_id": str(uuid.uuid4()), "outcome": "provided"},
        )
        ledger_integrate()


def test_log_api(log, client, django_user_model):
    auditor = django_user_model.objects.create_user("audit1", password="x" * 16)
    auditor.groups.add(Group.objects.get_or_create(name="auditors")[0])
    client.force_login(auditor)
    for path in [
        "/api/log/consistency?old=1&new=3",
        "/api/log/entries/0/inclusion",
        "/api/log/entries/0/receipt",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_store(response)


def test_the_public_checkpoint_may_be_cached_for_a_few_seconds(log):
    response = Client().get("/api/log/checkpoint")
    assert response.status_code == 200
    assert response["Cache-Control"] in ("public, max-age=5", "max-age=5, public")
    assert "Pragma" not in response
    assert "Cookie" not in response.get("Vary", "")  # one copy serves everyone


def test_static_files_keep_their_own_caching(settings):
    # WhiteNoise answers them before any view or the no-store middleware; the test serves them
    # from the apps' static folders, as collectstatic would have copied them.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    response = Client().get("/static/yaritori/site.css")
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]
    assert "max-age" in response["Cache-Control"]
