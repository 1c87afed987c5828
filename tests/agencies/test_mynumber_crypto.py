"""My Number at rest: encryption round trip, binding, blind index lookup, key rotation."""

import base64
import os

import pytest
from django.core.management import call_command
from django.db import connection

from agencies.models import Person
from agencies.mynumber_crypto import (
    MyNumberDecryptionError,
    blind_index,
    decrypt_my_number,
    encrypt_my_number,
)
from agencies.selectors import person_get_by_my_number
from agencies.services import DuplicateMyNumberError, person_create, person_set_my_number

VALID = "983205673214"


def _key_line(key_id):
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


def _person(**extra):
    fields = {
        "family_name": "山田",
        "given_name": "花子",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "ハナコ",
        "sex": "2",
        "date_of_birth": "1980-04-01",
        "address": "北海道札幌市中央区北1条西2丁目",
    }
    fields.update(extra)
    return person_create(**fields)


def test_round_trip_and_binding():
    key_id, blob = encrypt_my_number(VALID, person_public_id="p-1")
    assert VALID.encode() not in blob
    assert decrypt_my_number(key_id, blob, person_public_id="p-1") == VALID
    # A ciphertext moved onto another person's row does not decrypt.
    with pytest.raises(MyNumberDecryptionError):
        decrypt_my_number(key_id, blob, person_public_id="p-2")
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(MyNumberDecryptionError):
        decrypt_my_number(key_id, bytes(tampered), person_public_id="p-1")


def test_encryption_is_randomised():
    assert (
        encrypt_my_number(VALID, person_public_id="p")[1]
        != encrypt_my_number(VALID, person_public_id="p")[1]
    )


@pytest.mark.django_db
def test_lookup_by_blind_index_accepts_any_typed_form():
    person = _person(my_number="９８３２-０５６７-３２１４")
    assert person_get_by_my_number(my_number=VALID) == person
    assert person_get_by_my_number(my_number="123456789018") is None
    stored = Person.objects.get(pk=person.pk)
    assert stored.my_number_index == blind_index(VALID)
    assert VALID not in stored.my_number_index


@pytest.mark.django_db
def test_clear_number_is_nowhere_in_the_row():
    person = _person(my_number=VALID)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM agencies_person WHERE id = %s", [person.pk])
        row = cursor.fetchone()
    assert all(
        VALID not in (bytes(v).decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v))
        for v in row
    )


@pytest.mark.django_db
def test_duplicate_number_refused_without_echo():
    _person(my_number=VALID)
    with pytest.raises(DuplicateMyNumberError) as exc:
        _person(my_number=VALID)
    assert VALID not in str(exc.value)
    assert Person.objects.count() == 1


@pytest.mark.django_db
def test_invalid_number_writes_nothing():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        _person(my_number="983205673215")
    assert Person.objects.count() == 0


@pytest.mark.django_db
def test_key_rotation(settings, capsys):
    old = _key_line("old")
    settings.MYNUMBER_ENCRYPTION_KEYS = old
    alice = _person(my_number=VALID)
    bob = _person(given_name="太郎", my_number="123456789018")
    assert alice.my_number_key_id == "old"

    # The new key encrypts, the old still decrypts.
    settings.MYNUMBER_ENCRYPTION_KEYS = _key_line("new") + "," + old
    carol = _person(given_name="三郎")
    person_set_my_number(person=carol, my_number="000000000019")
    assert carol.my_number_key_id == "new"
    assert (
        decrypt_my_number(
            "old",
            Person.objects.get(pk=alice.pk).my_number_ciphertext,
            person_public_id=str(alice.public_id),
        )
        == VALID
    )

    call_command("mynumber_keys", "reencrypt", "--batch-size", "1")
    assert "re-encrypted 2" in capsys.readouterr().out
    for person in Person.objects.all():
        assert person.my_number_key_id == "new"
    # Once rotated, the old key can be dropped and every number still decrypts.
    settings.MYNUMBER_ENCRYPTION_KEYS = settings.MYNUMBER_ENCRYPTION_KEYS.split(",")[0]
    for person, number in [(alice, VALID), (bob, "123456789018")]:
        row = Person.objects.get(pk=person.pk)
        assert (
            decrypt_my_number(
                row.my_number_key_id, row.my_number_ciphertext, person_public_id=str(row.public_id)
            )
            == number
        )
    call_command("mynumber_keys", "status")
    assert "new (current): 3" in capsys.readouterr().out
