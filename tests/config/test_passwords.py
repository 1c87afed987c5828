"""Passwords: at least 12 characters, and none from the list of common passwords."""

import pytest
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError

ELEVEN = "Vq8#mZ2!pLx"  # random, but one character short


def common_long_password() -> str:
    """A password of 12 or more characters from Django's list of common passwords."""
    return min(w for w in CommonPasswordValidator().passwords if len(w) >= 12 and not w.isdigit())


def test_eleven_characters_are_too_few():
    with pytest.raises(ValidationError) as refused:
        password_validation.validate_password(ELEVEN)
    assert [e.code for e in refused.value.error_list] == ["password_too_short"]


def test_a_long_common_password_is_refused():
    word = common_long_password()
    with pytest.raises(ValidationError) as refused:
        password_validation.validate_password(word)
    assert "password_too_common" in [e.code for e in refused.value.error_list]


def test_twelve_uncommon_characters_are_enough():
    password_validation.validate_password(ELEVEN + "k")


def test_the_admin_refuses_a_short_password_for_a_new_user(admin_client):
    response = admin_client.post(
        "/admin/auth/user/add/",
        {
            "username": "newclerk",
            "password1": ELEVEN,
            "password2": ELEVEN,
            "usable_password": "true",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert not get_user_model().objects.filter(username="newclerk").exists()
    response = admin_client.post(
        "/admin/auth/user/add/",
        {
            "username": "newclerk",
            "password1": ELEVEN + "k",
            "password2": ELEVEN + "k",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    assert get_user_model().objects.get(username="newclerk").check_password(ELEVEN + "k")
