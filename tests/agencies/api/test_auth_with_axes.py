"""The agency API authenticates by key, not by password: the login lockout (django-axes) neither
counts its failures nor stands in its way."""

from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.support.factories import request_body
from tests.support.world import agency_client


def test_wrong_keys_are_refused_but_never_lock_anything_out(world):
    client = agency_client(world.clerk)
    for n in range(3 * settings.AXES_FAILURE_LIMIT):
        forged = APIClient()
        forged.credentials(HTTP_AUTHORIZATION=f"Bearer yk_forged-key-{n:04d}-xxxxxxxxxxxx")
        assert forged.post("/api/agency/requests", request_body(), format="json").status_code == 401
    from axes.models import AccessAttempt

    assert AccessAttempt.objects.count() == 0
    assert client.post("/api/agency/requests", request_body(), format="json").status_code == 201


def test_a_clerk_locked_out_of_the_login_page_can_still_operate_through_their_system(world):
    """The lockout stops password guessing on the login pages; the operator credential is a
    separate secret, revocable on its own."""
    client = agency_client(world.clerk)
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
    response = client.post("/api/agency/requests", request_body(), format="json")
    assert response.status_code == 201, response.content
