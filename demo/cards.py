"""The demo's resident cards: counter clerks (窓口) at each city's 市民課, cards for the
residents with the most records, one with a proxy, one whose records include held and refused
requests; their PINs are derived from the serial so that the banner can print them (demo only).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Count, Q

from agencies.models import LinkageRequest, LinkageStatus, Person, StaffMember
from portal.models import Card, MandateStatus, ProxyMandate, display_serial
from portal.services import card_issue, proxy_accept, proxy_name

COUNTER_GROUP = "窓口 (counter clerks)"
COUNTER_DEPARTMENT = "市民課"
CARDS = 12


def demo_pin(serial: str) -> str:
    """The demo PIN of a demo card: derived from its serial, so the banner can print it. Demo
    only: a real card's PIN is chosen by its holder and exists only as a hash."""
    digest = hashlib.sha256(f"yaritori-demo-pin|{serial}".encode()).hexdigest()
    return f"{int(digest, 16) % 10_000:04d}"


def counter_clerks() -> list[StaffMember]:
    """Staff of every 市民課 get the counter permission (through one group)."""
    group, _ = Group.objects.get_or_create(name=COUNTER_GROUP)
    group.permissions.add(
        Permission.objects.get(codename="counter_clerk", content_type__app_label="portal")
    )
    staff = list(
        StaffMember.objects.filter(department__name=COUNTER_DEPARTMENT)
        .select_related("user", "institution")
        .order_by("user__username")
    )
    for member in staff:
        member.user.groups.add(group)
    return staff


def _clerk_for(person: Person, clerks: list[StaffMember]) -> StaffMember:
    org_ids = set(person.addressee_numbers.values_list("organization_id", flat=True))
    for clerk in clerks:
        if clerk.institution.organization_id in org_ids:
            return clerk
    return clerks[0]


@transaction.atomic
def demo_cards_issue() -> int:
    """Issue the demo cards (once: nothing happens when demo cards exist). Returns how many."""
    if Card.objects.exists():
        return 0
    clerks = counter_clerks()
    if not clerks:
        return 0
    # Permissions are cached per user object; fetch the clerks again to see the new group.
    clerks = list(
        StaffMember.objects.filter(pk__in=[c.pk for c in clerks]).select_related(
            "user", "institution"
        )
    )
    visible = LinkageRequest.objects.filter(
        nondisclosure=False, subject__disclosure_protected=False
    )
    busiest = list(
        visible.values("subject")
        .annotate(
            n=Count("id"),
            held=Count(
                "id",
                filter=Q(
                    status__in=[LinkageStatus.HELD, LinkageStatus.RELEASED, LinkageStatus.DECLINED]
                ),
            ),
            refused=Count("id", filter=Q(status=LinkageStatus.REFUSED)),
        )
        .order_by("-n", "subject")[:2000]
    )
    if not busiest:
        return 0
    mixed = max(busiest, key=lambda r: (min(r["held"], 1) + min(r["refused"], 1), r["n"]))
    chosen = [mixed["subject"]] + [
        r["subject"] for r in busiest if r["subject"] != mixed["subject"]
    ]
    persons = Person.objects.in_bulk(chosen[:CARDS])
    issued = []
    for person_id in chosen[:CARDS]:
        person = persons[person_id]
        card = card_issue(staff=_clerk_for(person, clerks), person=person, pin="0000")
        # The demo PIN depends on the serial, known only now: set it as a reset would.
        from django.contrib.auth.hashers import make_password

        card.pin_hash = make_password(demo_pin(card.serial))
        card.save(update_fields=["pin_hash"])
        issued.append(card)
    # The second card holder names the third as proxy, who accepts.
    if len(issued) >= 3:
        named = proxy_name(principal=issued[1].person, proxy_card_serial=issued[2].serial)
        proxy_accept(proxy=issued[2].person, code=named.code)
    return len(issued)


@dataclass(frozen=True)
class DemoCard:
    serial: str
    pin: str
    what: str


def demo_cards() -> list[DemoCard]:
    """The demo cards worth showing in the banner: the one with held and refused requests,
    the principal and the proxy, and one more."""
    cards = list(
        Card.objects.filter(revoked_at__isnull=True)
        .select_related("person")
        .order_by("issued_at", "id")[:4]
    )
    active = ProxyMandate.objects.filter(status=MandateStatus.ACTIVE)
    principals = set(active.values_list("principal_id", flat=True))
    proxies = set(active.values_list("proxy_id", flat=True))
    shown = []
    for k, card in enumerate(cards):
        if card.person_id in principals:
            what = "代理人あり (has a proxy)"
        elif card.person_id in proxies:
            what = "代理人 (is a proxy)"
        elif k == 0:
            what = "保留・拒否された照会を含む (held and refused requests)"
        else:
            what = "住民 (resident)"
        shown.append(DemoCard(display_serial(card.serial), demo_pin(card.serial), what))
    return shown
