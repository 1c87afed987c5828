"""Who a clerk is about to query: the person a typed number names in the organisation's own
records, shown for confirmation before anything is sent, and every such look recorded.

The safeguard against the mix-up every counter knows (the spouse's number typed for the
applicant's): a My Number or 宛名番号 is resolved only within the organisation's own records
(persons with a 宛名番号 of the organisation; for a national body or an insurer, which keep
no 宛名番号, persons the institution holds a 符号 for), never country-wide, and never by
sending a request. Resolving a My Number to nobody there is recorded without a subject (who
looked, for which affair), so that probing numbers shows in the ledger without telling anyone
whether a number exists elsewhere. Showing a person for confirmation is recorded against that
person (person.lookup, purpose query_confirm): the resident sees who looked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from agencies.codes import normalize_my_number
from agencies.events import PERSON_LOOKUP, record_person_lookup
from agencies.models import (
    OUTSIDE_HOUSEHOLD_RELATIONS,
    AddresseeNumber,
    Affair,
    Case,
    Institution,
    OrganizationKind,
    Person,
    StaffMember,
)
from agencies.mynumber_crypto import blind_index
from audit.ledger import ledger_append

PURPOSE_MY_NUMBER_RESOLUTION = "my_number_resolution"
PURPOSE_QUERY_CONFIRM = "query_confirm"
# Relations a look-up records besides a case member's (applicant, household, and the
# relations outside the household of agencies.models.OUTSIDE_HOUSEHOLD_RELATIONS).
NO_CASE = "no_case"  # a query without a case: there is no applicant to relate to
NOT_CASE_MEMBER = "not_case_member"  # the person is not one the case concerns
NONE = "none"  # nobody found

# Organisations that keep 団体内統合宛名番号: local governments. A national body or an insurer
# knows its people by the 符号 the network issued to it.
_KEEPS_ADDRESSEE_NUMBERS = frozenset({OrganizationKind.MUNICIPALITY, OrganizationKind.PREFECTURE})


class LookupNotAllowed(Exception):
    """The staff member may not look anyone up for this (the message says why, translated
    when shown; it names no person)."""


@dataclass(frozen=True)
class Subject:
    """A person found in the requester's own records, as a confirmation page shows them."""

    person: Person
    addressee_number: str  # the organisation's 宛名番号, "" where it keeps none
    relation: str  # the ledger's relation code to the case's applicant (or NO_CASE ...)
    role: str  # the case member's role as the case recorded it (本人, 子 ...), or ""

    @property
    def is_applicant(self) -> bool:
        return self.relation == "applicant"

    @property
    def may_be_queried(self) -> bool:
        """False for a person the case does not concern: the case explains nothing there."""
        return self.relation != NOT_CASE_MEMBER


def keeps_addressee_numbers(institution: Institution) -> bool:
    """Whether the institution's organisation knows its residents by 宛名番号."""
    return institution.organization.kind in _KEEPS_ADDRESSEE_NUMBERS


@sensitive_variables("my_number")
def _in_own_records(
    institution: Institution, *, addressee_number: str | None, my_number: str | None
) -> tuple[Person, str] | None:
    """The person (and the organisation's 宛名番号 of them) that a 宛名番号 or a My Number
    names within the institution's own records, or None."""
    if keeps_addressee_numbers(institution):
        numbers = AddresseeNumber.objects.select_related("person").filter(
            organization_id=institution.organization_id
        )
        if addressee_number:
            found = numbers.filter(number=addressee_number).first()
        else:
            index = blind_index(normalize_my_number(my_number or ""))
            found = numbers.filter(person__my_number_index=index).first()
        return (found.person, found.number) if found is not None else None
    if not my_number:
        return None  # no 宛名番号 here, so none names anyone
    index = blind_index(normalize_my_number(my_number))
    person = Person.objects.filter(my_number_index=index, tokens__institution=institution).first()
    return (person, "") if person is not None else None


def _relation(case: Case | None, person: Person) -> tuple[str, str]:
    """The ledger's relation code of person to the case's applicant, and their role in it."""
    if case is None:
        return NO_CASE, ""
    if person.pk == case.applicant_id:
        return "applicant", "本人"
    member = case.case_members.filter(person=person).first()
    if member is None:
        return NOT_CASE_MEMBER, ""
    return OUTSIDE_HOUSEHOLD_RELATIONS.get(member.role, "household"), member.role


def _check_allowed(
    staff: StaffMember, affair: Affair, case: Case | None, moment: dt.datetime
) -> None:
    if not staff.assigned_affairs.filter(pk=affair.pk).exists():
        raise LookupNotAllowed(_("You are not assigned to this affair."))
    if case is not None and (
        case.department_id != staff.department_id
        or case.affair_id != affair.pk
        or not case.is_open_at(moment)
    ):
        raise LookupNotAllowed(_("This is not an open case of your department for this affair."))


@sensitive_variables("my_number")
@transaction.atomic
def subject_lookup(
    *,
    staff: StaffMember,
    affair: Affair,
    case: Case | None = None,
    addressee_number: str | None = None,
    my_number: str | None = None,
    now: dt.datetime | None = None,
) -> Subject | None:
    """Find the person a clerk named by 宛名番号 or My Number (exactly one) in the
    organisation's own records, for a query under affair (and case, if any), and record it.

    None when the number names nobody there; a My Number that does is recorded without a
    subject (purpose my_number_resolution, relation none), whether the number is unknown or
    belongs to someone outside these records: the two must look alike. A person found is
    recorded against that person (purpose query_confirm) with their relation to the case's
    applicant; for a person the case does not concern the relation is not_case_member, and
    the Subject says the query may not be made (Subject.may_be_queried).

    The staff member must be assigned to the affair, and a case must be an open case of
    their department for that affair (LookupNotAllowed otherwise, nothing recorded). Raises
    django's ValidationError for a malformed My Number (the message never repeats it).
    """
    if bool(addressee_number) == bool(my_number):
        raise ValueError("name the subject by exactly one of addressee_number and my_number")
    moment = now or timezone.now()
    _check_allowed(staff, affair, case, moment)
    found = _in_own_records(
        staff.institution, addressee_number=addressee_number, my_number=my_number
    )
    if found is None:
        if my_number:
            ledger_append(
                event_type=PERSON_LOOKUP,
                fields={
                    "institution": staff.institution.code,
                    "staff": staff.audit_pseudonym,
                    "affair": affair.code,
                    "purpose": PURPOSE_MY_NUMBER_RESOLUTION,
                    "relation": NONE,
                },
                moment=moment,
            )
        return None
    person, number = found
    relation, role = _relation(case, person)
    record_person_lookup(
        staff=staff,
        affair=affair,
        person=person,
        purpose=PURPOSE_QUERY_CONFIRM,
        relation=relation,
        moment=moment,
    )
    return Subject(person=person, addressee_number=number, relation=relation, role=role)


def subject_of_request(
    *, institution: Institution, person: Person, case: Case | None = None
) -> Subject:
    """A person as the requester's pages show them after a query (no look-up recorded: the
    query itself is the record): with the organisation's 宛名番号 and relation to the case."""
    number = (
        AddresseeNumber.objects.filter(organization_id=institution.organization_id, person=person)
        .values_list("number", flat=True)
        .first()
        or ""
    )
    relation, role = _relation(case, person)
    return Subject(person=person, addressee_number=number, relation=relation, role=role)
