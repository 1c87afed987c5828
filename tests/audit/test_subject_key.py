"""The ledger's subject key: derived from NETWORK_TOKEN_KEY exactly as before unless
LEDGER_SUBJECT_KEY pins it, and then independent of the network key (docs/operations.md, the
network token key's rotation)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from audit.entries import subject_key, subject_key_pinned, subject_pseudonym

# The vector: computed with audit/entries.py as it was before LEDGER_SUBJECT_KEY existed
# (commit e109d26), so that deployments that leave it unset keep every pseudonym.
NETWORK_KEY = base64.b64encode(bytes(range(32))).decode()  # AAECAwQF...Hh8=
DERIVED_SUBJECT_KEY = "0tJtTWX9SvJuKc+Pku6PZOYouWNk30Af4mTFhE9scnQ="
PERSON = "5f0c2f3e-8b1a-4c7d-9e2f-0a1b2c3d4e5f"
PSEUDONYM = "SJOZ5Y5QAYNXJW66CAD5UAXSTI"
OTHER_PERSON = "00000000-0000-0000-0000-000000000001"
OTHER_PSEUDONYM = "SJTE6YMVGMK6QCXZS27CIBP6W6"
NEW_NETWORK_KEY = base64.b64encode(bytes(range(32, 64))).decode()


@override_settings(NETWORK_TOKEN_KEY=NETWORK_KEY, LEDGER_SUBJECT_KEY="")
def test_unset_the_derivation_is_todays_bit_for_bit():
    assert not subject_key_pinned()
    assert base64.b64encode(subject_key()).decode() == DERIVED_SUBJECT_KEY
    assert subject_pseudonym(PERSON) == PSEUDONYM
    assert subject_pseudonym(OTHER_PERSON) == OTHER_PSEUDONYM
    # The derivation spelled out, as docs/operations.md states it.
    key = hmac.new(bytes(range(32)), b"yaritori/ledger-subject/v1", hashlib.sha256).digest()
    assert key == subject_key()
    digest = hmac.new(key, PERSON.encode(), hashlib.sha256).digest()
    assert "SJ" + base64.b32encode(digest[:15]).decode() == PSEUDONYM


@override_settings(NETWORK_TOKEN_KEY=NEW_NETWORK_KEY, LEDGER_SUBJECT_KEY=DERIVED_SUBJECT_KEY)
def test_pinned_the_network_key_no_longer_matters():
    assert subject_key_pinned()
    assert subject_pseudonym(PERSON) == PSEUDONYM
    assert subject_pseudonym(OTHER_PERSON) == OTHER_PSEUDONYM
    with override_settings(NETWORK_TOKEN_KEY=NETWORK_KEY):
        assert subject_pseudonym(PERSON) == PSEUDONYM


def test_unpinned_a_new_network_key_would_split_the_ledger():
    # What pinning prevents. The caches (_subject_key, decode_key) are keyed by the setting's
    # value, so switching settings back and forth needs no cache_clear: a stale key cannot be
    # served.
    with override_settings(NETWORK_TOKEN_KEY=NEW_NETWORK_KEY, LEDGER_SUBJECT_KEY=""):
        assert subject_pseudonym(PERSON) != PSEUDONYM
    with override_settings(NETWORK_TOKEN_KEY=NETWORK_KEY, LEDGER_SUBJECT_KEY=""):
        assert subject_pseudonym(PERSON) == PSEUDONYM
    with override_settings(NETWORK_TOKEN_KEY=NEW_NETWORK_KEY, LEDGER_SUBJECT_KEY=""):
        assert subject_pseudonym(PERSON) != PSEUDONYM


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_pinned_key_names_the_setting_and_not_its_value(value):
    with override_settings(LEDGER_SUBJECT_KEY=value), pytest.raises(ImproperlyConfigured) as error:
        subject_pseudonym(PERSON)
    assert "LEDGER_SUBJECT_KEY" in str(error.value)
    assert value not in str(error.value)
