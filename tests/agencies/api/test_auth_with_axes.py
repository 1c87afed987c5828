"""The agency API authenticates by key, not by password: the login lockout (django-axes) neither
counts its failures nor stands in its way."""

from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from agencies.services import agency_system_create
from tests.support.factories import request_body


def test_wrong_keys_are_refused_but_never_lock_anything_out(world):
    _, key = agency_system_create(institution=world.mayor, name="mayor system")
    world.clerk.user.username = "mayor.clerk"
    world.clerk.user.save()
    for n in range(3 * settings.AXES_FAILURE_LIMIT):
        forged = APIClient()
        forged.credentials(HTTP_AUTHORIZATION=f"Bearer yk_forged-key-{n:04d}-xxxxxxxxxxxx")
        assert forged.post("/api/agency/requests", request_body(), format="json").status_code == 401
    from axes.models import AccessAttempt

    assert AccessAttempt.objects.count() == 0
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.post("/api/agency/requests", request_body(), format="json").status_code == 201


def test_a_clerk_locked_out_of_the_login_page_is_still_named_by_their_system(world):
    _, key = agency_system_create(institution=world.mayor, name="mayor system")
    world.clerk.user.username = "mayor.clerk"
    world.clerk.user.save()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/staff/login/", {"username": "mayor.clerk", "password": "x" * 14})
    assert (
        Client()
        .post("/staff/login/", {"username": "mayor.clerk", "password": "x" * 14})
        .status_code
        == 429
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post("/api/agency/requests", request_body(), format="json")
    assert response.status_code == 201, response.content
