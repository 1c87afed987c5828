"""Property-based fuzzing of the agency API from its own OpenAPI schema: no input, however
strange, may produce a server error (5xx)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from agencies.services import agency_system_create, operator_credential_issue
from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
reached: set[tuple[str, str, int]] = set()


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly would close the test's database connection at the end
    of each request (it is inside the test's transaction); Django's own test client disables
    that the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def agency_key(world, keep_test_connection):
    """The mayor's system key and its clerk's operator credential."""
    _, key = agency_system_create(institution=world.mayor, name="fuzz")
    _, credential = operator_credential_issue(staff=world.clerk)
    return key, credential


@schema.include(path_regex="^/api/agency/").parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_agency_api_never_answers_5xx(case, agency_key):
    # Schemathesis fills the security scheme's and the operator's headers with generated
    # values; the real ones replace them so that the operations are reached, not just the
    # authentication.
    key, credential = agency_key
    case.headers = {
        **(case.headers or {}),
        "Authorization": f"Bearer {key}",
        "X-Operator-Credential": credential,
    }
    response = case.call()
    assert response.status_code < 500, response.text[:500]
    reached.add((case.method, case.path, response.status_code))


def test_the_fuzz_reached_past_authentication():
    """Guard against a vacuous fuzz run: some generated requests got past the API key."""
    if not reached:
        pytest.skip("run together with test_agency_api_never_answers_5xx")
    assert any(status not in (401, 403) for _, _, status in reached)
