"""The migration to institutions by capacity carries existing data: a city's 福祉事務所 and 国保
institutions were its mayor in other capacities, so what they held moves to the mayor."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from agencies.tokens import derive_institution_token

BEFORE = [("agencies", "0005_operator_credential")]
AFTER = [("agencies", "0006_capacities_and_ordinances")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_city_of_four_institutions_becomes_one_mayor_with_its_capacities():
    old = migrate(BEFORE)
    Organization = old.get_model("agencies", "Organization")
    Institution = old.get_model("agencies", "Institution")
    Department = old.get_model("agencies", "Department")
    Person = old.get_model("agencies", "Person")
    Token = old.get_model("agencies", "InstitutionToken")
    Copy = old.get_model("agencies", "ProvisionCopy")
    Affair = old.get_model("agencies", "Affair")
    Item = old.get_model("agencies", "InformationItem")
    Rule = old.get_model("agencies", "LinkageRule")
    User = old.get_model("auth", "User")
    Staff = old.get_model("agencies", "StaffMember")

    city = Organization.objects.create(code="011002", kind="municipality", name="札幌市")
    mayor = Institution.objects.create(
        organization=city, code="0110020000000001", kind="municipality_head", name="市長部局"
    )
    welfare = Institution.objects.create(
        organization=city, code="0110020000000003", kind="prefecture_head", name="福祉事務所"
    )
    nhi = Institution.objects.create(
        organization=city, code="0110020000000004", kind="health_insurer", name="国保"
    )
    board = Institution.objects.create(
        organization=city, code="0110020000000002", kind="board_of_education", name="教育委員会"
    )
    office = Department.objects.create(institution=welfare, code="3010", name="生活福祉課")
    staff = Staff.objects.create(
        user=User.objects.create(username="sapporo.sato"),
        institution=welfare,
        department=office,
        audit_pseudonym="ST0000000000000001",
    )
    person = Person.objects.create(
        family_name="山田",
        given_name="花子",
        family_name_kana="ヤマダ",
        given_name_kana="ハナコ",
        sex="2",
        date_of_birth=dt.date(1980, 1, 1),
        address="札幌市",
    )
    welfare_token = Token.objects.create(
        institution=welfare,
        person=person,
        token=derive_institution_token(
            institution_code=welfare.code, person_public_id=str(person.public_id)
        ),
    )
    affair = Affair.objects.create(code="JT01000000000009", name="生活保護", basis="statutory")
    item = Item.objects.create(code="TM00000000000005", name="生活保護関係情報", category="福祉")
    tax = Item.objects.create(code="TM00000000000003", name="地方税関係情報", category="税")
    Copy.objects.create(institution=welfare, token=welfare_token, item=item, payload={"x": 1})
    rule = Rule.objects.create(
        requester_kind="prefecture_head",
        affair=affair,
        provider_kind="municipality_head",
        item=tax,
        valid_from=dt.date(2017, 11, 13),
    )

    new = migrate(AFTER)
    Institution = new.get_model("agencies", "Institution")
    mayor_now = Institution.objects.get(pk=mayor.pk)
    assert set(mayor_now.capacities) >= {
        "municipality_head",
        "welfare_authority",
        "nhi_insurer",
        "medical_insurer",
    }
    assert Institution.objects.get(pk=welfare.pk).merged_into_id == mayor.pk
    assert Institution.objects.get(pk=nhi.pk).merged_into_id == mayor.pk
    assert Institution.objects.get(pk=board.pk).capacities == ["board_of_education"]
    assert new.get_model("agencies", "Department").objects.get(pk=office.pk).institution_id == (
        mayor.pk
    )
    assert new.get_model("agencies", "StaffMember").objects.get(pk=staff.pk).institution_id == (
        mayor.pk
    )
    copy = new.get_model("agencies", "ProvisionCopy").objects.select_related("token").get()
    assert copy.institution_id == mayor.pk and copy.token.institution_id == mayor.pk
    assert copy.token.token == derive_institution_token(
        institution_code=mayor.code, person_public_id=str(person.public_id)
    )
    migrated = new.get_model("agencies", "LinkageRule").objects.get(pk=rule.pk)
    # Row 26 of the shipped table: 生活保護 (都道府県知事等) asks the mayor for 地方税関係情報.
    assert (migrated.requester_capacity, migrated.provider_capacity) == (
        "welfare_authority",
        "municipality_head",
    )
    migrate(executor_leaf_nodes())


def executor_leaf_nodes():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
