"""factory_boy factories for the linkage network (used by tests that need a small world)."""

import datetime as dt
import uuid

import factory
from django.contrib.auth import get_user_model

from agencies import models
from agencies.codes import my_number_check_digit, with_local_government_check_digit
from agencies.services import seal_my_number_fields, token_build


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: with_local_government_check_digit(f"{20000 + n:05d}"))
    kind = models.OrganizationKind.MUNICIPALITY
    name = factory.Sequence(lambda n: f"テスト市{n}")


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Institution

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"{n:016d}")
    kind = models.InstitutionKind.MUNICIPALITY_HEAD
    name = "市長"
    # The capacity of the same name as its kind, where there is one (市町村長, 教育委員会 …).
    capacities = factory.LazyAttribute(
        lambda o: [o.kind] if o.kind in models.Capacity.values else []
    )


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Department

    institution = factory.SubFactory(InstitutionFactory)
    code = factory.Sequence(lambda n: f"D{n:04d}")
    name = "市民税課"


class AffairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Affair

    code = factory.Sequence(lambda n: f"JT{n:014d}")
    name = factory.Sequence(lambda n: f"事務{n}")
    basis = models.LegalBasis.STATUTORY


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.InformationItem

    code = factory.Sequence(lambda n: f"TM{n:014d}")
    name = factory.Sequence(lambda n: f"特定個人情報{n}")
    category = "地方税関係情報"


def my_number_for(n: int) -> str:
    """A valid, test-only My Number derived from n (never a real person's)."""
    first = f"{900000000000 + n:012d}"[:11]
    return first + str(my_number_check_digit(first))


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Person
        skip_postgeneration_save = True

    family_name = "山田"
    given_name = factory.Sequence(lambda n: f"太郎{n}")
    family_name_kana = "ヤマダ"
    given_name_kana = "タロウ"
    sex = models.Sex.MALE
    date_of_birth = dt.date(1980, 4, 1)
    address = "北海道札幌市中央区北1条西2丁目1"

    @factory.post_generation
    def my_number(self, create, extracted, **kwargs):
        if extracted:
            seal_my_number_fields(person=self, my_number=extracted)
            if create:
                self.save()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"staff{n}")


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.StaffMember
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    department = factory.SubFactory(DepartmentFactory)
    institution = factory.SelfAttribute("department.institution")

    @factory.post_generation
    def affairs(self, create, extracted, **kwargs):
        for affair in extracted or []:
            self.assigned_affairs.add(affair)


def issue_token(institution, person):
    token = token_build(institution=institution, person=person)
    token.save()
    return token


WORLD_ADDRESSEE = "000000000012345"  # the world fixture's person, at the city


def send_request(world, **overrides):
    """A 情報照会 through the network service: by default the world's clerk asks the pension
    service for the world's person's pension item; any parameter can be overridden."""
    from agencies.network.services import linkage_request_send

    params = {
        "staff": world.clerk,
        "request_id": uuid.uuid4(),
        "affair": world.affair,
        "item": world.pension_item,
        "provider": world.pension,
        "addressee_number": WORLD_ADDRESSEE,
    }
    params.update(overrides)
    return linkage_request_send(**params)


def transfer_internally(world, **overrides):
    """A 庁内連携: by default the world's clerk uses, for school aid, the residents' register
    data of the world's person from the 児童手当 affair; any parameter can be overridden."""
    from agencies.network.services import internal_transfer_send

    params = {
        "staff": world.clerk,
        "request_id": uuid.uuid4(),
        "affair": world.school,
        "from_affair": world.affair,
        "item": world.resident_item,
        "addressee_number": WORLD_ADDRESSEE,
    }
    params.update(overrides)
    return internal_transfer_send(**params)


def request_body(**overrides):
    """The agency API's JSON body of a 情報照会: by default (sent with the world's clerk's
    credential) the pension service is asked for the world's person's pension item. An
    override of None drops the key."""
    data = {
        "request_id": str(uuid.uuid4()),
        "affair": "JT01010000000214",
        "item": "TM00000000000002",
        "provider": "9900150000000001",
        "addressee_number": WORLD_ADDRESSEE,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def withdraw_token(institution, person):
    """Delete person's 符号 at institution, with the 副本 it keys there (as if none had
    been issued)."""
    models.ProvisionCopy.objects.filter(
        token__institution=institution, token__person=person
    ).delete()
    person.tokens.filter(institution=institution).delete()
