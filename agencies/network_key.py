"""Rotation of the network token key (NETWORK_TOKEN_KEY): every 符号 re-derived under the key
now in effect, once the ledger's subject key no longer depends on it.

Two things were derived from the network key: the 符号 (agencies.tokens) and the key of the
ledger's subject pseudonyms (audit.entries.subject_key). Entries are never rewritten, so the
subject key must outlive the network key: it is pinned as LEDGER_SUBJECT_KEY before the network
key changes, and institution_tokens_reissue refuses to run until it is, and until the key in
effect gives the pseudonyms the ledger was written with. docs/operations.md has the procedure.

No secret leaves this module: messages name settings, never their values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from agencies.events import TOKENS_REISSUED, record_change
from agencies.models import InstitutionToken, LinkageRequest
from agencies.tokens import derive_institution_token
from audit.entries import subject_key_pinned, subject_pseudonym
from audit.ledger import intake_for_key

_BATCH = 1000


class NetworkKeyError(Exception):
    """The rotation step cannot run as things stand; the message (one line) says why and what
    to do, and names no secret."""


@dataclass(frozen=True)
class SubjectKeyCheck:
    """Whether the subject key in effect is the ledger's.

    first and latest: whether the entry of the ledger's first (latest) request about a person
    carries the pseudonym the key in effect gives that person; None when there is no such
    entry yet (a new log: any key is its key).
    """

    pinned: bool
    first: bool | None
    latest: bool | None


@dataclass(frozen=True)
class TokenCount:
    """The 符号 held by the network: how many there are, and how many are not what the key in
    effect derives (issued under another key, waiting for a reissue)."""

    total: int
    stale: int


@dataclass(frozen=True)
class TokenReissue:
    """What institution_tokens_reissue did: 符号 changed, 符号 already under the key in effect,
    and the subject key's check it ran before (its latest may be False: see the command)."""

    reissued: int
    unchanged: int
    check: SubjectKeyCheck


def _request_entry_matches(order: str) -> bool | None:
    row = (
        LinkageRequest.objects.filter(subject__isnull=False)
        .order_by(order)
        .values_list("request_id", "subject__public_id")
        .first()
    )
    if row is None:
        return None
    request_id, public_id = row
    intake = intake_for_key(str(request_id))
    if intake is None or not intake.subject:
        return None
    return intake.subject == subject_pseudonym(str(public_id))


def subject_key_check() -> SubjectKeyCheck:
    """Compare the subject key in effect with the ledger: the pseudonym it gives the subject of
    the first and of the latest request against the one their entries hold (two indexed
    look-ups each). The first entry tells the log's own key; a latest entry under another key
    means some process wrote entries with another key since (a split already made)."""
    return SubjectKeyCheck(
        pinned=subject_key_pinned(),
        first=_request_entry_matches("pk"),
        latest=_request_entry_matches("-pk"),
    )


def require_ledger_subject_key() -> SubjectKeyCheck:
    """The check, or NetworkKeyError when the key in effect does not give the pseudonyms of
    the ledger's first entry: printing it to pin it, or reissuing under it, would split every
    resident's history."""
    check = subject_key_check()
    if check.first is False:
        raise NetworkKeyError(
            "the ledger subject key in effect is not the one the ledger was written with (the "
            "entry of its first request holds another pseudonym): set LEDGER_SUBJECT_KEY to "
            "what --print-subject-key printed under the old NETWORK_TOKEN_KEY "
            "(docs/operations.md)"
        )
    return check


def _token_rows(queryset: QuerySet[InstitutionToken]) -> Iterator[list[tuple[int, str, str, str]]]:
    """Every token as (pk, token, institution code, person public id), batch by batch in pk
    order (keyset paging: no offset, bounded memory)."""
    last = 0
    while True:
        batch = [
            (pk, token, code, str(public_id))
            for pk, token, code, public_id in queryset.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "token", "institution__code", "person__public_id")[:_BATCH]
        ]
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _derived(code: str, public_id: str) -> str:
    return derive_institution_token(institution_code=code, person_public_id=public_id)


def tokens_count() -> TokenCount:
    """How many 符号 the network holds, and how many the key in effect would change."""
    total = stale = 0
    for batch in _token_rows(InstitutionToken.objects.all()):
        total += len(batch)
        stale += sum(token != _derived(code, public_id) for _, token, code, public_id in batch)
    return TokenCount(total=total, stale=stale)


@transaction.atomic
def institution_tokens_reissue(*, actor: str = "system") -> TokenReissue:
    """Re-derive every 符号 under the NETWORK_TOKEN_KEY in effect, in one transaction, and
    record it (tokens.reissued, with the counts) when any changed.

    Refuses (NetworkKeyError) unless LEDGER_SUBJECT_KEY is set and gives the pseudonyms of the
    ledger's first entry (require_ledger_subject_key). Idempotent: a 符号 already under the key
    is left alone, and a run that changes nothing writes nothing, the ledger included. The
    rows are locked as they are read, so a concurrent issue of the same 符号 waits; rows are
    updated in place, so every 副本 (ProvisionCopy, by foreign key) stays with its 符号.
    """
    if not subject_key_pinned():
        raise NetworkKeyError(
            "LEDGER_SUBJECT_KEY is not set: pin the ledger subject key (--print-subject-key, "
            "under the old NETWORK_TOKEN_KEY) on every process before reissuing, or the ledger "
            "would split every resident's history (docs/operations.md)"
        )
    check = require_ledger_subject_key()
    now = timezone.now()
    reissued = unchanged = 0
    locked = InstitutionToken.objects.select_for_update(of=("self",))
    for batch in _token_rows(locked):
        changed = []
        for pk, token, code, public_id in batch:
            new = _derived(code, public_id)
            if new == token:
                unchanged += 1
            else:
                changed.append(InstitutionToken(pk=pk, token=new, issued_at=now))
        InstitutionToken.objects.bulk_update(changed, ["token", "issued_at"])
        reissued += len(changed)
    if reissued:
        record_change(
            event_type=TOKENS_REISSUED,
            fields={"reissued": str(reissued), "unchanged": str(unchanged), "actor": actor},
            moment=now,
        )
    return TokenReissue(reissued=reissued, unchanged=unchanged, check=check)
