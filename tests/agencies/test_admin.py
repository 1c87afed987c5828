"""Admin: every model is registered and its pages render; My Number is never shown."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from agencies.admin import MASKED_MY_NUMBER
from agencies.models import Person
from agencies.selectors import person_get_by_my_number
from agencies.services import person_create

VALID = "983205673214"
PERSON = {
    "family_name": "佐藤",
    "given_name": "一郎",
    "family_name_kana": "サトウ",
    "given_name_kana": "イチロウ",
    "sex": "1",
    "date_of_birth": "1975-01-02",
    "address": "宮城県仙台市青葉区国分町3丁目",
}


@pytest.fixture
def admin_client_logged_in(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.invalid", "pw-12345")
    client.force_login(user)
    return client


def test_every_audit_model_is_registered_read_only(admin_client_logged_in, rf):
    request = rf.get("/")
    for model in apps.get_app_config("audit").get_models():
        if model._meta.model_name == "merklesubtree":
            continue  # composite key: not an admin model (see audit/admin.py)
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_delete_permission(request)
        url = reverse(f"admin:audit_{model._meta.model_name}_changelist")
        assert admin_client_logged_in.get(url).status_code == 200


def test_every_agencies_model_is_registered():
    missing = [
        m.__name__
        for m in apps.get_app_config("agencies").get_models()
        if m not in admin.site._registry and m.__name__ != "CaseMember"
    ]
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    [m for m in apps.get_app_config("agencies").get_models() if m.__name__ != "CaseMember"],
    ids=lambda m: m.__name__,
)
def test_changelist_renders(admin_client_logged_in, model):
    url = reverse(f"admin:agencies_{model._meta.model_name}_changelist")
    assert admin_client_logged_in.get(url).status_code == 200


@pytest.mark.django_db
def test_person_pages_mask_my_number(admin_client_logged_in):
    person = person_create(my_number=VALID, **PERSON)
    for url in [
        reverse("admin:agencies_person_changelist"),
        reverse("admin:agencies_person_change", args=[person.pk]),
    ]:
        body = admin_client_logged_in.get(url).content.decode()
        assert MASKED_MY_NUMBER in body
        assert VALID not in body and "9832-0567-3214" not in body
    # Labels through the catalogue, as a municipal system writes them: no "和 (English)".
    assert "個人番号" in body and "(My Number)" not in body


@pytest.mark.django_db
def test_my_number_can_be_set_write_only(admin_client_logged_in):
    person = person_create(**PERSON)
    url = reverse("admin:agencies_person_change", args=[person.pk])
    data = {
        **PERSON,
        "new_my_number": "９８３２ ０５６７ ３２１４",
        "disclosure_protected": "",
        "protection_reason": "",
        "postal_code": "",
        "relationship": "",
    }
    response = admin_client_logged_in.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert person_get_by_my_number(my_number=VALID).pk == person.pk


@pytest.mark.django_db
def test_bad_my_number_is_a_form_error_not_echoed(admin_client_logged_in):
    person = person_create(**PERSON)
    url = reverse("admin:agencies_person_change", args=[person.pk])
    data = {
        **PERSON,
        "new_my_number": "983205673215",
        "protection_reason": "",
        "postal_code": "",
        "relationship": "",
    }
    response = admin_client_logged_in.post(url, data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "検査用数字" in body
    assert "983205673215" not in body
    assert not Person.objects.get(pk=person.pk).has_my_number


@pytest.mark.django_db
def test_demo_auditor_sees_the_ledger_but_no_personal_records(client, tmp_path):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command(
        "seed_demo",
        "--residents",
        "50",
        "--no-progress",
        "--api-keys-file",
        str(tmp_path / "keys.txt"),
    )
    client.force_login(get_user_model().objects.get(username="auditor"))
    assert client.get(reverse("admin:audit_checkpoint_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_ledgerintake_changelist")).status_code == 200
    assert client.get(reverse("admin:agencies_person_changelist")).status_code == 403
    assert client.get(reverse("admin:agencies_linkagerequest_changelist")).status_code == 403
