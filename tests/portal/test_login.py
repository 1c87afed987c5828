"""Card login: serial and PIN (no My Number), the PIN hashed, three wrong PINs lock the card
until a counter clerk resets it (each lock and reset a ledger entry), a throttle per card and
per address in the shared cache that fails open, CSRF, and a session that ends with the card."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from audit.entries import parse_leaf
from audit.models import LedgerIntake
from portal.models import Card
from portal.services import NotCounterClerk, card_issue, card_pin_reset, card_reissue
from tests.portal.conftest import login
from tests.support.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_the_form_asks_for_a_card_number_and_a_pin_only(client):
    form = client.get("/portal/login/").context["form"]
    assert list(form.fields) == ["serial", "pin"]


def test_the_pin_is_stored_hashed(resident):
    card = Card.objects.get(pk=resident.card.pk)
    assert resident.pin not in card.pin_hash
    assert card.pin_hash.startswith(("pbkdf2_sha256$", "md5$", "argon2", "bcrypt"))


def test_login_with_card_and_pin_and_a_full_width_serial(resident):
    client = Client()
    typed = resident.card.serial.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    response = client.post("/portal/login/", {"serial": typed, "pin": "１２３４"})
    assert response.status_code == 302
    assert client.get("/portal/").status_code == 200


def test_three_wrong_pins_lock_the_card_until_the_counter_resets_it(resident, counter_clerk):
    client = Client()
    for expected in (400, 400, 403):
        assert login(client, resident.card, "0000").status_code == expected
    card = Card.objects.get(pk=resident.card.pk)
    assert card.is_locked and card.failed_attempts == 3
    assert login(client, resident.card, resident.pin).status_code == 403  # right PIN, locked
    lock = LedgerIntake.objects.get(event_type="card.lock")
    assert parse_leaf(lock.leaf).fields == {"card": card.audit_pseudonym, "reason": "wrong_pin"}
    card_pin_reset(staff=counter_clerk, card=card, pin="4321")
    reset = LedgerIntake.objects.get(event_type="card.reset")
    assert parse_leaf(reset.leaf).fields["actor"] == counter_clerk.audit_pseudonym
    assert login(client, resident.card, "1234").status_code == 400
    assert login(client, resident.card, "4321").status_code == 302


def test_a_right_pin_clears_the_count_of_wrong_ones(resident):
    client = Client()
    login(client, resident.card, "0000")
    login(client, resident.card, "0000")
    assert login(client, resident.card, resident.pin).status_code == 302
    assert Card.objects.get(pk=resident.card.pk).failed_attempts == 0


def test_an_unknown_card_and_a_wrong_pin_read_the_same(resident):
    unknown = Client().post("/portal/login/", {"serial": "YC-AAAAA-AAAAA", "pin": "1234"})
    wrong = login(Client(), resident.card, "0000")
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.context["form"].non_field_errors() == wrong.context["form"].non_field_errors()


def test_a_session_ends_when_the_pin_is_reset_or_the_card_reissued(
    resident, resident_client, counter_clerk
):
    assert resident_client.get("/portal/").status_code == 200
    card_pin_reset(staff=counter_clerk, card=resident.card, pin="5555")
    assert resident_client.get("/portal/").status_code == 302
    client = Client()
    login(client, resident.card, "5555")
    card_reissue(staff=counter_clerk, person=resident.person, pin="6666")
    assert client.get("/portal/").status_code == 302
    assert login(Client(), resident.card, "5555").status_code == 400  # the old card


def test_login_cycles_the_session_key(resident):
    client = Client()
    client.get("/portal/login/")
    client.cookies["sessionid"] = "x" * 32
    login(client, resident.card, resident.pin)
    assert client.cookies["sessionid"].value != "x" * 32


def test_login_without_a_csrf_token_is_refused(resident):
    client = Client(enforce_csrf_checks=True)
    response = login(client, resident.card, resident.pin)
    assert response.status_code == 403
    assert Card.objects.get(pk=resident.card.pk).failed_attempts == 0


def test_every_post_of_the_portal_needs_a_csrf_token(resident):
    client = Client(enforce_csrf_checks=True)
    client.get("/portal/login/")
    token = client.cookies["csrftoken"].value
    client.post(
        "/portal/login/",
        {"serial": resident.card.serial, "pin": resident.pin, "csrfmiddlewaretoken": token},
    )
    for path in ("/portal/act-as/", "/portal/proxies/", "/portal/notices/", "/portal/logout/"):
        assert client.post(path, {"action": "end"}).status_code == 403, path


@override_settings(PORTAL_LOGIN_LIMIT_PER_CARD=2, PORTAL_LOGIN_LIMIT_PER_ADDRESS=100)
def test_the_throttle_counts_attempts_per_card(resident, other_resident):
    client = Client()
    for _ in range(2):
        login(client, resident.card, "0000")
    # Refused before the PIN is looked at: the right PIN too, and no third wrong one counted.
    assert login(client, resident.card, resident.pin).status_code == 429
    assert Card.objects.get(pk=resident.card.pk).failed_attempts == 2
    assert login(client, other_resident.card, other_resident.pin).status_code == 302


@override_settings(PORTAL_LOGIN_LIMIT_PER_CARD=100, PORTAL_LOGIN_LIMIT_PER_ADDRESS=3)
def test_the_throttle_counts_attempts_per_address(resident, other_resident):
    for n in range(3):
        Client().post("/portal/login/", {"serial": f"YC-AAAAA-AAAA{n + 2}", "pin": "0000"})
    assert login(Client(), resident.card, resident.pin).status_code == 429
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    assert login(elsewhere, other_resident.card, other_resident.pin).status_code == 302


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there: the cache is down
        }
    },
    PORTAL_LOGIN_LIMIT_PER_CARD=1,
)
def test_the_throttle_fails_open_when_the_cache_is_down(resident, caplog):
    assert login(Client(), resident.card, resident.pin).status_code == 302
    assert login(Client(), resident.card, resident.pin).status_code == 302
    assert "cache unavailable" in caplog.text
    assert Card.objects.get(pk=resident.card.pk).failed_attempts == 0


def test_only_counter_clerks_issue_reissue_and_reset(world, resident):
    plain = StaffFactory(department=world.clerk.department)
    with pytest.raises(NotCounterClerk):
        card_issue(staff=plain, person=world.person, pin="1111")
    with pytest.raises(NotCounterClerk):
        card_reissue(staff=plain, person=world.person, pin="1111")
    with pytest.raises(NotCounterClerk):
        card_pin_reset(staff=plain, card=resident.card, pin="1111")
    assert not LedgerIntake.objects.filter(event_type="card.reset").exists()
