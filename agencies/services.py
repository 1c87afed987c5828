"""Write services of the linkage network. Each runs in one transaction.

Raw My Number enters through person_create / person_set_my_number only, and leaves this module
only as ciphertext and blind index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from agencies.codes import normalize_my_number
from agencies.events import (
    ASSIGNMENT_ENDED,
    ASSIGNMENT_GRANTED,
    CONSENT_GIVEN,
    CONSENT_WITHDRAWN,
    CREDENTIAL_ISSUED,
    CREDENTIAL_REVOKED,
    NONDISCLOSURE_LIFTED,
    NONDISCLOSURE_SET,
    SYSTEM_CREATED,
    SYSTEM_DEACTIVATED,
    record_case_closed,
    record_case_opened,
    record_change,
    record_credential,
    record_person_lookup,
)
from agencies.models import (
    MAX_CASE_MEMBERS,
    OUTSIDE_HOUSEHOLD_RELATIONS,
    Affair,
    AgencySystem,
    Case,
    CaseMember,
    Consent,
    InformationItem,
    Institution,
    InstitutionToken,
    OperatorCredential,
    Organization,
    Person,
    StaffMember,
)
from agencies.mynumber_crypto import (
    blind_index,
    current_keyring,
    decrypt_my_number,
    encrypt_my_number,
)
from agencies.selectors import household_of
from agencies.tokens import derive_institution_token, new_api_key, new_operator_credential


class DuplicateMyNumberError(Exception):
    """Another person already holds this My Number (the message never includes the number)."""


def _seal_my_number(person: Person, my_number: str) -> None:
    number = normalize_my_number(my_number)
    index = blind_index(number)
    if Person.objects.filter(my_number_index=index).exclude(pk=person.pk).exists():
        raise DuplicateMyNumberError(
            "この個人番号は既に別の住民に登録されています。 "
            "(This My Number is already registered to another person.)"
        )
    key_id, blob = encrypt_my_number(number, person_public_id=str(person.public_id))
    person.my_number_key_id = key_id
    person.my_number_ciphertext = blob
    person.my_number_index = index


@transaction.atomic
def person_create(*, my_number: str | None = None, **fields: object) -> Person:
    """Create a Person from 基本4情報 fields, sealing my_number (validated) if given."""
    person = Person(**fields)
    if my_number is not None:
        _seal_my_number(person, my_number)
    person.full_clean(exclude=["household"])
    person.save()
    return person


@transaction.atomic
def person_set_my_number(*, person: Person, my_number: str) -> Person:
    """Validate and store a person's My Number encrypted under the current key."""
    _seal_my_number(person, my_number)
    person.save(update_fields=["my_number_key_id", "my_number_ciphertext", "my_number_index"])
    return person


def seal_my_number_fields(*, person: Person, my_number: str) -> None:
    """Fill the encrypted columns of an unsaved person (bulk loading); validates the number.

    Uniqueness is left to the database's unique blind index.
    """
    number = normalize_my_number(my_number)
    key_id, blob = encrypt_my_number(number, person_public_id=str(person.public_id))
    person.my_number_key_id = key_id
    person.my_number_ciphertext = blob
    person.my_number_index = blind_index(number)


def mynumber_reencrypt(*, batch_size: int = 1000) -> int:
    """Re-encrypt every My Number not under the current key; returns how many were rewritten.

    Each batch is its own transaction, so a long run can be interrupted and resumed.
    """
    ring = current_keyring()
    rewritten = 0
    while True:
        with transaction.atomic():
            batch = list(
                Person.objects.select_for_update()
                .filter(my_number_ciphertext__isnull=False)
                .exclude(my_number_key_id=ring.current_id)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return rewritten
            for person in batch:
                number = decrypt_my_number(
                    person.my_number_key_id,
                    person.my_number_ciphertext,
                    person_public_id=str(person.public_id),
                )
                person.my_number_key_id, person.my_number_ciphertext = encrypt_my_number(
                    number, person_public_id=str(person.public_id)
                )
            Person.objects.bulk_update(batch, ["my_number_key_id", "my_number_ciphertext"])
            rewritten += len(batch)


def token_build(*, institution: Institution, person: Person) -> InstitutionToken:
    """An unsaved InstitutionToken (符号) of person at institution, derived by the network."""
    return InstitutionToken(
        institution=institution,
        person=person,
        token=derive_institution_token(
            institution_code=institution.code, person_public_id=str(person.public_id)
        ),
    )


@transaction.atomic
def agency_system_create(
    *, institution: Institution, name: str, actor: str = "system"
) -> tuple[AgencySystem, str]:
    """Register an institution's API client; returns the system and its key, shown only now.
    Recorded (system.created, by the key's prefix)."""
    key, prefix, key_hash = new_api_key()
    system = AgencySystem.objects.create(
        institution=institution, name=name, key_prefix=prefix, key_hash=key_hash
    )
    record_change(
        event_type=SYSTEM_CREATED,
        fields={"institution": institution.code, "system": prefix, "actor": actor},
    )
    return system, key


@transaction.atomic
def agency_system_deactivate(*, system: AgencySystem, actor: str) -> AgencySystem:
    """Deactivate an agency system's key (once): every later call with it is refused.
    Recorded (system.deactivated)."""
    system = AgencySystem.objects.select_for_update().get(pk=system.pk)
    if system.is_active:
        system.is_active = False
        system.save(update_fields=["is_active"])
        record_change(
            event_type=SYSTEM_DEACTIVATED,
            fields={
                "institution": system.institution.code,
                "system": system.key_prefix,
                "actor": actor,
            },
        )
    return system


@transaction.atomic
def consent_give(
    *,
    person: Person,
    institution: Institution,
    affair: Affair,
    item: InformationItem,
    valid_from: dt.date,
    valid_to: dt.date | None,
    document_reference: str,
    actor: str,
) -> Consent:
    """Record a person's consent (本人同意) that institution query item for affair between the
    dates. Recorded (consent.given; the document reference is not, it is free text)."""
    consent = Consent(
        person=person,
        institution=institution,
        affair=affair,
        item=item,
        valid_from=valid_from,
        valid_to=valid_to,
        document_reference=document_reference,
    )
    consent.full_clean()
    consent.save()
    record_change(
        event_type=CONSENT_GIVEN,
        fields={
            "institution": institution.code,
            "affair": affair.code,
            "item": item.code,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "actor": actor,
        },
        subject=person,
    )
    return consent


@transaction.atomic
def consent_withdraw(*, consent: Consent, actor: str, now: dt.datetime | None = None) -> Consent:
    """Withdraw a consent (once): from that day on, queries that need it are refused.
    Recorded (consent.withdrawn)."""
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.withdrawn_at is None:
        consent.withdrawn_at = now or timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        record_change(
            event_type=CONSENT_WITHDRAWN,
            fields={
                "institution": consent.institution.code,
                "affair": consent.affair.code,
                "item": consent.item.code,
                "actor": actor,
            },
            subject=consent.person,
            moment=consent.withdrawn_at,
        )
    return consent


def record_assignment(
    event_type: str,
    *,
    staff: StaffMember,
    affair: Affair,
    actor: str,
    moment: dt.datetime | None = None,
) -> None:
    """The ledger entry of an assignment granted or ended (assignment.granted / .ended), in
    the caller's transaction, at moment (now by default)."""
    record_change(
        event_type=event_type,
        fields={
            "institution": staff.institution.code,
            "staff": staff.audit_pseudonym,
            "affair": affair.code,
            "actor": actor,
        },
        moment=moment,
    )


@transaction.atomic
def assignment_grant(*, staff: StaffMember, affair: Affair, actor: str) -> bool:
    """Assign a staff member to an affair (担当事務); False if already assigned. Recorded
    (assignment.granted)."""
    if staff.assigned_affairs.filter(pk=affair.pk).exists():
        return False
    staff.assigned_affairs.add(affair)
    record_assignment(ASSIGNMENT_GRANTED, staff=staff, affair=affair, actor=actor)
    return True


@transaction.atomic
def assignment_end(*, staff: StaffMember, affair: Affair, actor: str) -> bool:
    """End a staff member's assignment to an affair; False if not assigned. Recorded
    (assignment.ended)."""
    if not staff.assigned_affairs.filter(pk=affair.pk).exists():
        return False
    staff.assigned_affairs.remove(affair)
    record_assignment(ASSIGNMENT_ENDED, staff=staff, affair=affair, actor=actor)
    return True


@transaction.atomic
def nondisclosure_set(
    *,
    person: Person,
    reason: str,
    valid_from: dt.date,
    valid_to: dt.date | None,
    actor: str,
    organization: Organization | None = None,
) -> Person:
    """Protect a person's records from disclosure (不開示, e.g. a DV 支援措置 registered by
    organization) for the period. Recorded (nondisclosure.set; the entry is itself marked
    不開示, so it is hidden wherever 不開示 records are; the reason is not recorded)."""
    if not reason.strip():
        raise ValueError("不開示には理由が必要です。 (A 不開示 needs its reason.)")
    if valid_to is not None and valid_to < valid_from:
        raise ValueError("期間の終わりが始まりより前です。 (The period ends before it begins.)")
    person.disclosure_protected = True
    person.protection_reason = reason
    person.protected_from, person.protected_until = valid_from, valid_to
    person.save(
        update_fields=[
            "disclosure_protected",
            "protection_reason",
            "protected_from",
            "protected_until",
        ]
    )
    record_change(
        event_type=NONDISCLOSURE_SET,
        fields={
            "organization": organization.code if organization else None,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "nondisclosure": True,
            "actor": actor,
        },
        subject=person,
    )
    return person


@transaction.atomic
def nondisclosure_lift(*, person: Person, actor: str) -> Person:
    """End a person's 不開示 protection (once). Recorded (nondisclosure.lifted, itself marked
    不開示)."""
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.disclosure_protected:
        person.disclosure_protected = False
        person.save(update_fields=["disclosure_protected"])
        record_change(
            event_type=NONDISCLOSURE_LIFTED,
            fields={"nondisclosure": True, "actor": actor},
            subject=person,
        )
    return person


def persons_bulk_create(persons: Iterable[Person], *, batch_size: int = 2000) -> None:
    """Insert already-validated persons in batches (used by the demo loader)."""
    Person.objects.bulk_create(list(persons), batch_size=batch_size)


class CaseError(Exception):
    """A case cannot be opened, looked into or closed as asked (the message says why, in
    Japanese and English, and names no person)."""


def _require_assigned(staff: StaffMember, affair: Affair) -> None:
    if not staff.assigned_affairs.filter(pk=affair.pk).exists():
        raise CaseError(
            "担当外の事務の案件は受け付けられません。 "
            "(The staff member is not assigned to this affair.)"
        )


def _relation(applicant: Person, person: Person, role: str) -> str:
    """The ledger's relation code of a case member, or CaseError when a person outside the
    applicant's household comes without a stated relation."""
    if person.pk == applicant.pk:
        return "applicant"
    stated = OUTSIDE_HOUSEHOLD_RELATIONS.get(role)
    if stated is not None:
        return stated
    if applicant.household_id is not None and person.household_id == applicant.household_id:
        return "household"
    relations = "、".join(OUTSIDE_HOUSEHOLD_RELATIONS)
    raise CaseError(
        f"申請者の世帯に属さない者には続柄（{relations}）が必要です。 "
        "(A person outside the applicant's household needs a stated relation.)"
    )


@transaction.atomic
def household_lookup(
    *, staff: StaffMember, affair: Affair, applicant: Person, now: dt.datetime | None = None
) -> list[Person]:
    """The applicant's household (世帯), shown to a clerk who states the affair of the case
    about to be opened. Each person shown is recorded as looked at (person.lookup), so the
    residents see who looked; a clerk not assigned to the affair is refused (CaseError)."""
    _require_assigned(staff, affair)
    household = household_of(applicant)
    moment = now or timezone.now()
    for person in household:
        record_person_lookup(
            staff=staff,
            affair=affair,
            person=person,
            purpose="case_intake",
            relation="applicant" if person.pk == applicant.pk else "household",
            moment=moment,
        )
    return household


@transaction.atomic
def case_open(
    *,
    staff: StaffMember,
    affair: Affair,
    reference: str,
    applicant: Person,
    members: list[tuple[Person, str]],
    now: dt.datetime | None = None,
) -> Case:
    """Open a case (案件) in the staff member's department, with the people it concerns.

    The applicant is always a member (role 本人). Others are members of the applicant's
    household, or people outside it with a stated relation (OUTSIDE_HOUSEHOLD_RELATIONS);
    at most MAX_CASE_MEMBERS in all. The staff member must be assigned to the affair: a case
    is the legitimate reason behind later queries, so it may not be invented for an affair one
    does not handle. The opening and each member are ledger entries (case.opened,
    case.member), written in the same transaction.
    """
    _require_assigned(staff, affair)
    if Case.objects.filter(department=staff.department, reference=reference).exists():
        raise CaseError("この受付番号は既に使われています。 (This reference is already used.)")
    roles: dict[int, tuple[Person, str]] = {applicant.pk: (applicant, "本人")}
    for person, role in members:
        roles.setdefault(person.pk, (person, role or "世帯員"))
    if len(roles) > MAX_CASE_MEMBERS:
        raise CaseError(
            f"一つの案件の対象者は{MAX_CASE_MEMBERS}人までです。 "
            f"(A case concerns at most {MAX_CASE_MEMBERS} people.)"
        )
    relations = [(person, _relation(applicant, person, role)) for person, role in roles.values()]
    moment = now or timezone.now()
    case = Case.objects.create(
        affair=affair,
        department=staff.department,
        reference=reference,
        applicant=applicant,
        opened_by=staff,
        opened_at=moment,
    )
    CaseMember.objects.bulk_create(
        CaseMember(case=case, person=person, role=role) for person, role in roles.values()
    )
    record_case_opened(case=case, staff=staff, members=relations, moment=moment)
    return case


@transaction.atomic
def case_close(*, staff: StaffMember, case: Case, now: dt.datetime | None = None) -> Case:
    """Close a case of the staff member's own department (once); recorded (case.closed)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.department_id != staff.department_id:
        raise CaseError("他の課の案件は完結できません。 (The case belongs to another department.)")
    if case.closed_at is not None:
        raise CaseError("この案件は完結済みです。 (The case is already closed.)")
    case.closed_at = now or timezone.now()
    case.save(update_fields=["closed_at"])
    record_case_closed(case=case, staff=staff, moment=case.closed_at)
    return case


@transaction.atomic
def operator_credential_issue(*, staff: StaffMember) -> tuple[OperatorCredential, str]:
    """Issue an operator credential to a staff member; returns it and the secret, shown once
    (only its SHA-256 is stored). Recorded (credential.issued)."""
    secret, prefix, token_hash = new_operator_credential()
    credential = OperatorCredential.objects.create(
        staff=staff, prefix=prefix, token_hash=token_hash
    )
    record_credential(event_type=CREDENTIAL_ISSUED, staff=staff, prefix=prefix)
    return credential, secret


@transaction.atomic
def operator_credential_revoke(
    *, credential: OperatorCredential, now: dt.datetime | None = None
) -> OperatorCredential:
    """Revoke an operator credential (once); from then on the network refuses it.
    Recorded (credential.revoked)."""
    credential = OperatorCredential.objects.select_for_update().get(pk=credential.pk)
    if credential.revoked_at is None:
        credential.revoked_at = now or timezone.now()
        credential.save(update_fields=["revoked_at"])
        record_credential(
            event_type=CREDENTIAL_REVOKED, staff=credential.staff, prefix=credential.prefix
        )
    return credential
