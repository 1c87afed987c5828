"""Read queries of the linkage network."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Q, QuerySet

from agencies.codes import normalize_my_number
from agencies.models import (
    AddresseeNumber,
    Case,
    InformationItem,
    Institution,
    InstitutionToken,
    LinkageRequest,
    LinkageStatus,
    Person,
    ProvisionCopy,
    StaffMember,
)
from agencies.mynumber_crypto import blind_index
from agencies.tokens import secret_hash
from core.db import fetch_one


def person_get_by_my_number(*, my_number: str) -> Person | None:
    """The person holding my_number (validated first), found through the blind index."""
    return Person.objects.filter(
        my_number_index=blind_index(normalize_my_number(my_number))
    ).first()


# --- what a staff member may see (the staff pages filter every query through these) ----------


def staff_for_user(user: AbstractBaseUser | AnonymousUser) -> StaffMember | None:
    """The user's StaffMember with its institution and department, or None if not staff."""
    if not user.is_authenticated:
        return None
    return (
        StaffMember.objects.select_related("user", "institution__organization", "department")
        .filter(user_id=user.pk, user__is_active=True)
        .first()
    )


def cases_of_staff(*, staff: StaffMember, open_only: bool) -> QuerySet[Case]:
    """The cases of the staff member's department, newest first, with their member count."""
    cases = (
        Case.objects.filter(department_id=staff.department_id)
        .select_related("affair", "applicant")
        .annotate(n_members=Count("case_members"))
        .order_by("-opened_at")
    )
    return cases.filter(closed_at__isnull=True) if open_only else cases


def case_of_staff(*, staff: StaffMember, case_id: int) -> Case | None:
    """A case of the staff member's own department, or None (another department's case is
    not found, so its existence does not leak)."""
    return (
        Case.objects.select_related("affair", "applicant", "opened_by__user")
        .filter(pk=case_id, department_id=staff.department_id)
        .first()
    )


def addressee_numbers_of(*, organization_id: int, person_ids: Iterable[int]) -> dict[int, str]:
    """The 宛名番号 of each person in one organisation (persons without one are left out)."""
    return dict(
        AddresseeNumber.objects.filter(
            organization_id=organization_id, person_id__in=list(person_ids)
        ).values_list("person_id", "number")
    )


def person_by_addressee_number(*, organization_id: int, number: str) -> Person | None:
    """The person with this 宛名番号 in the organisation, or None."""
    found = (
        AddresseeNumber.objects.filter(organization_id=organization_id, number=number)
        .select_related("person__household")
        .first()
    )
    return found.person if found is not None else None


def person_in_own_records(*, institution: Institution, person: Person) -> bool:
    """Whether the institution's own records know the person: a 宛名番号 of its organisation,
    or a 符号 issued to it (a body that keeps no 宛名番号)."""
    return (
        AddresseeNumber.objects.filter(
            organization_id=institution.organization_id, person=person
        ).exists()
        or InstitutionToken.objects.filter(institution=institution, person=person).exists()
    )


def person_by_id(*, person_id: int) -> Person | None:
    """A person by primary key (one a signed confirmation names), or None."""
    return Person.objects.filter(pk=person_id).first()


def household_of(person: Person) -> list[Person]:
    """The person's household (世帯), the person first, then by date of birth."""
    if person.household_id is None:
        return [person]
    others = Person.objects.filter(household_id=person.household_id).exclude(pk=person.pk)
    return [person, *others.order_by("date_of_birth", "pk")]


def _requests() -> QuerySet[LinkageRequest]:
    return LinkageRequest.objects.select_related(
        "affair",
        "from_affair",
        "item",
        "requester__organization",
        "provider__organization",
        "case",
        "staff__user",
    )


def requests_of_staff(*, staff: StaffMember, limit: int = 100) -> list[LinkageRequest]:
    """The staff member's own latest requests."""
    return list(_requests().filter(staff=staff).order_by("-requested_at")[:limit])


def _asked_of(institution_id: int) -> Q:
    """Network requests that reached institution as provider: the network let them through
    (a refused request never reached the provider's intermediate server)."""
    return Q(provider_id=institution_id, kind="network") & ~Q(status=LinkageStatus.REFUSED)


def request_for_staff(*, staff: StaffMember, request_id: uuid.UUID) -> LinkageRequest | None:
    """A request the staff member may read: one sent from their own department, or one held
    or answered by their institution as provider (never one the network refused). None
    otherwise."""
    return (
        _requests()
        .filter(request_id=request_id)
        .filter(
            Q(requester_id=staff.institution_id, staff__department_id=staff.department_id)
            | _asked_of(staff.institution_id)
        )
        .first()
    )


def held_requests_for(*, staff: StaffMember) -> QuerySet[LinkageRequest]:
    """Requests held for a manual answer by the staff member's institution, oldest first."""
    return (
        _requests()
        .filter(provider_id=staff.institution_id, status=LinkageStatus.HELD)
        .order_by("requested_at")
    )


_STAFF_BY_CREDENTIAL = """
    SELECT oc.staff_id FROM agencies_operatorcredential oc
    JOIN agencies_staffmember s2 ON s2.id = oc.staff_id JOIN {users} u ON u.id = s2.user_id
    WHERE oc.token_hash = %(credential)s AND oc.revoked_at IS NULL
      AND s2.institution_id = %(requester)s AND u.is_active = %(yes)s
"""


@cache
def staff_by_credential_sql() -> str:
    """The one definition of the operator an agency system presents: SQL selecting the id of
    the active staff member of institution %(requester)s holding the unrevoked operator
    credential whose SHA-256 is %(credential)s (%(yes)s is True). The network's facts
    statement embeds it; staff_by_credential runs it."""
    return _STAFF_BY_CREDENTIAL.format(users=get_user_model()._meta.db_table)


def staff_by_credential(*, institution: Institution, credential: str) -> StaffMember | None:
    """The active staff member of the institution whose unrevoked operator credential this
    is, or None (unknown, revoked, another institution's, or an inactive user)."""
    found = fetch_one(
        staff_by_credential_sql(),
        {"credential": secret_hash(credential), "requester": institution.pk, "yes": True},
    )
    if found is None:
        return None
    staff = StaffMember.objects.select_related("department", "user").get(pk=found[0])
    staff.institution = institution
    return staff


# --- what an agency system may read (always within its own institution) -------------------------


def _outcomes() -> QuerySet[LinkageRequest]:
    return LinkageRequest.objects.select_related("requester", "provider", "affair", "item", "case")


def request_for_institution(
    *, institution: Institution, request_id: uuid.UUID
) -> LinkageRequest | None:
    """A request that institution sent or was asked, or None (another institution's request
    is not found, so its existence does not leak; a provider is not told of a request the
    network refused, which never reached its intermediate server)."""
    return (
        _outcomes()
        .filter(request_id=request_id)
        .filter(Q(requester=institution) | _asked_of(institution.pk))
        .first()
    )


def held_requests_of_provider(*, institution: Institution, limit: int) -> list[LinkageRequest]:
    """Up to limit requests held for institution's manual answer, oldest first."""
    return list(
        _outcomes()
        .filter(provider=institution, status=LinkageStatus.HELD)
        .order_by("requested_at")[:limit]
    )


def request_asked_of(*, institution: Institution, request_id: uuid.UUID) -> LinkageRequest | None:
    """A request institution was asked as provider (one the network let through), or None."""
    return LinkageRequest.objects.filter(_asked_of(institution.pk), request_id=request_id).first()


def case_of_institution(*, institution: Institution, case_id: int) -> Case | None:
    """A case of one of institution's departments, or None."""
    return Case.objects.filter(pk=case_id, department__institution=institution).first()


def case_by_reference(*, staff: StaffMember, reference: str) -> Case | None:
    """The case with this 受付番号 in the staff member's institution, their own department's
    first (references are unique per department), or None."""
    cases = Case.objects.filter(
        department__institution_id=staff.institution_id, reference=reference
    ).select_related("affair")
    return cases.filter(department_id=staff.department_id).first() or cases.first()


def requests_under_case(*, case: Case) -> QuerySet[LinkageRequest]:
    """The requests sent under case, newest first."""
    return (
        LinkageRequest.objects.filter(case=case)
        .select_related("item", "provider__organization", "staff__user")
        .order_by("-requested_at")
    )


def case_members_of(*, case: Case, organization_id: int) -> list[tuple[Person, str, str]]:
    """(person, role, 宛名番号 in the organisation) of each member of case, in the order they
    were added."""
    members = list(case.case_members.select_related("person").order_by("pk"))
    numbers = addressee_numbers_of(
        organization_id=organization_id, person_ids=[m.person_id for m in members]
    )
    return [(m.person, m.role, numbers.get(m.person_id, "")) for m in members]


def own_copy(
    *, institution: Institution, item: InformationItem, person: Person
) -> ProvisionCopy | None:
    """The institution's own 副本 of item about person (held under the person's 符号 there),
    or None."""
    return ProvisionCopy.objects.filter(
        institution=institution, item=item, token__person=person
    ).first()
