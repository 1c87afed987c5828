"""What a ledger entry may contain, its leaf bytes (RFC 8785 canonical JSON), and the reader
that turns a leaf back into a typed record.

The apps that write entries declare their event types and each field's pattern
(register_event, e.g. agencies/network/events.py); the ledger enforces those declarations on
every append and every read, and names no field of its own but the version, the event type,
the UTC time and the subject's pseudonym. A leaf holds codes and pseudonyms only: every field
has a pattern, and anything else is refused before it can reach the log, so a name or a My
Number cannot slip in by mistake.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson
import rfc8785
from django.conf import settings

from core.keys import decode_key

LEAF_VERSION = 1

# The ledger's own members of every leaf; no event may declare a field of these names.
_LEDGER_MEMBERS = frozenset({"v", "type", "time", "subject"})
EVENT_TYPE = re.compile(r"[a-z]+(\.[a-z_]+)+")
_SUBJECT = re.compile(r"SJ[A-Z2-7]{24}")
# A bare 12-digit value would look like a My Number: free-form references refuse any run.
_TWELVE_DIGITS = re.compile(r"[0-9]{12}")
# How many admitted values each field remembers (EntryField.admits).
_ADMITTED_KEPT = 4096
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


class EntryFieldError(ValueError):
    """A field is not allowed in a ledger entry or does not have its pattern (value omitted)."""


@dataclass(frozen=True)
class EntryField:
    """What one field of an entry may hold: a string of `pattern` (ASCII that JSON writes
    without escapes), or, with pattern None, true or false."""

    pattern: re.Pattern[str] | None
    # Free-form references (a case's 受付番号) could carry a typed My Number by mistake.
    refuse_twelve_digits: bool = False
    # Values found admitted lately. Most fields repeat a few values (codes, a clerk's
    # pseudonym, a terminal), and detection checks every field of every entry it reads.
    _admitted: set[str] = field(default_factory=set, compare=False, hash=False, repr=False)

    def admits(self, value: object) -> bool:
        """Whether value is of this field's form."""
        if self.pattern is None:
            return isinstance(value, bool)
        if type(value) is str and value in self._admitted:
            return True
        if not isinstance(value, str) or not self.pattern.fullmatch(value):
            return False
        if self.refuse_twelve_digits and _TWELVE_DIGITS.search(value):
            return False
        if type(value) is str:
            if len(self._admitted) >= _ADMITTED_KEPT:
                self._admitted.clear()  # values of other days: start again from what comes
            self._admitted.add(value)
        return True


BOOLEAN = EntryField(None)


def text(pattern: str, *, refuse_twelve_digits: bool = False) -> EntryField:
    """A string field of the given pattern (a regular expression matched in full). The
    pattern must admit only ASCII characters that JSON writes as they are."""
    return EntryField(re.compile(pattern), refuse_twelve_digits)


UUID = text(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class EventSchema:
    """One event type the ledger accepts, as the app that writes it declared it.

    fields: every field an entry of this type may hold (besides the ledger's own v, type,
    time and subject); required: those it must hold; key: the field whose value finds the
    entry in one indexed lookup (LedgerIntake.lookup_key), e.g. a request id.
    """

    event_type: str
    fields: Mapping[str, EntryField]
    required: frozenset[str]
    key: str | None
    summary: str


_REGISTRY: dict[str, EventSchema] = {}


def register_event(
    event_type: str,
    *,
    fields: Mapping[str, EntryField],
    required: Iterable[str] = (),
    key: str | None = None,
    summary: str = "",
) -> EventSchema:
    """Declare an event type and the fields its entries may hold; from then on the ledger
    appends and reads entries of that type against this schema only.

    Registering the same declaration twice is harmless (apps register at import); a
    different declaration for a registered type raises ValueError, since entries already
    written were checked against the first.
    """
    if not EVENT_TYPE.fullmatch(event_type):
        raise ValueError(f"event type {event_type!r} is not of the form 'noun.verb'")
    reserved = _LEDGER_MEMBERS & set(fields)
    if reserved:
        raise ValueError(f"{event_type}: {sorted(reserved)} are the ledger's own members")
    required_set = frozenset(required)
    if not required_set <= set(fields) or (key is not None and key not in fields):
        raise ValueError(f"{event_type}: required fields and the key must be declared fields")
    schema = EventSchema(event_type, dict(fields), required_set, key, summary)
    known = _REGISTRY.setdefault(event_type, schema)
    if known != schema:
        raise ValueError(f"event type {event_type!r} is already registered differently")
    return known


def event_schema(event_type: str) -> EventSchema:
    """The registered schema of event_type, or EntryFieldError."""
    schema = _REGISTRY.get(event_type)
    if schema is None:
        raise EntryFieldError(f"event type {event_type!r} is not registered with the ledger")
    return schema


def registered_events() -> list[EventSchema]:
    """Every registered event type, by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def check_fields(event_type: str, fields: Mapping[str, object]) -> EventSchema:
    """The event's schema, or EntryFieldError unless every field is declared for
    event_type, well-formed, and every required field is there. ("subject" is the ledger's
    own and is checked by leaf_bytes.)"""
    schema = event_schema(event_type)
    declared = schema.fields
    for name, value in fields.items():
        spec = declared.get(name)
        if spec is None:
            raise EntryFieldError(f"field {name!r} may not appear in a {event_type} entry")
        # The value itself is never quoted back: it might be the very data we keep out.
        if not spec.admits(value):
            raise EntryFieldError(f"field {name!r} does not have the required form")
    missing = schema.required.difference(fields)
    if missing:
        raise EntryFieldError(f"a {event_type} entry needs {sorted(missing)}")
    return schema


def format_time(moment: dt.datetime) -> str:
    """UTC, microseconds, 'Z' suffix: one spelling for one instant (YYYY-MM-DDTHH:MM:SS.ffffffZ).

    Refuses a naive datetime: a leaf's time must be an instant, not a wall-clock reading.
    """
    if moment.tzinfo is None:
        raise EntryFieldError("entry time must be timezone-aware")
    u = moment.astimezone(dt.UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond:06d}Z"
    )


def leaf_bytes(
    event_type: str, fields: Mapping[str, object], moment: dt.datetime, subject: str = ""
) -> bytes:
    """The entry's leaf: {"v": 1, "type": ..., "time": ..., "subject": ..., **fields} as
    RFC 8785 JSON (subject only when given: the person the entry is about, as a pseudonym).

    check_fields admits only booleans and ASCII strings that need no escaping (plus the
    integer version), and keys are ASCII. For such documents RFC 8785 is exactly JSON with
    keys sorted and no white space, so the standard library's C encoder writes the same bytes
    as the rfc8785 library in a tenth of the time; this runs once per linkage request.
    tests/audit/test_entries.py checks the two agree on every document the schemas admit,
    and canonical_json_reference() is the library form for anyone who wants to compare.
    """
    check_fields(event_type, fields)
    document: dict[str, Any] = {
        "v": LEAF_VERSION,
        "type": event_type,
        "time": format_time(moment),
        **fields,
    }
    if subject:
        if not _SUBJECT.fullmatch(subject):
            raise EntryFieldError("field 'subject' does not have the required form")
        document["subject"] = subject
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


def lookup_key(event_type: str, fields: Mapping[str, object]) -> str:
    """The value that finds this entry in one indexed lookup (its schema's key field), or ""."""
    key = event_schema(event_type).key
    value = fields.get(key, "") if key is not None else ""
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class LedgerRecord:
    """A leaf read back: the inverse of leaf_bytes."""

    version: int
    event_type: str
    time: dt.datetime
    subject: str  # "" when the entry is about nobody in particular
    fields: Mapping[str, str | bool]

    def leaf(self) -> bytes:
        """The leaf this record was read from (leaf_bytes of its parts)."""
        return leaf_bytes(self.event_type, self.fields, self.time, self.subject)


def read_leaf(leaf: bytes | str) -> LedgerRecord:
    """Read a leaf the ledger itself stored, for display, without checking it again against
    its schema and canonical form (parse_leaf does, at about five times the cost).

    For pages that list many of the log's own rows: what they show is bound to the log by the
    leaf hash, which the chain, the tree and the proofs verify (in the resident's browser, by
    audit_verify), not by this reader. Raises EntryFieldError only for what is not a leaf at
    all (not a JSON object with its version, type and time).
    """
    try:
        document = json.loads(leaf)
        version, event_type, time = document.pop("v"), document.pop("type"), document.pop("time")
        subject = document.pop("subject", "")
        moment = dt.datetime.strptime(time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise EntryFieldError("not a ledger leaf") from None
    return LedgerRecord(version, event_type, moment, subject, document)


# json.dumps(sort_keys=True, separators=(",", ":")) without building an encoder per call.
def parse_leaf(leaf: bytes | str) -> LedgerRecord:
    """Read a leaf into a typed record, checking it against its event type's schema.

    Raises EntryFieldError when the leaf is not canonical JSON of a registered event type with
    well-formed fields: exactly the leaves leaf_bytes writes, so that for every leaf it accepts,
    parse_leaf(leaf).leaf() == leaf.

    Detection reads every entry through here, so it does leaf_bytes' checks without building
    the leaf again: the fields are checked against the schema (check_fields), and the document
    re-encoded as it was read must be the leaf itself. The time has passed its pattern, for
    which fromisoformat parses exactly the instants format_time writes back unchanged, so the
    re-encoded document equals record.leaf() whenever it equals the leaf (a test compares the
    two on malformed leaves too).
    """
    raw: bytes | str = leaf if isinstance(leaf, str) else bytes(leaf)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise EntryFieldError("a leaf must be a JSON object") from None
    if not isinstance(document, dict):
        raise EntryFieldError("a leaf must be a JSON object")
    version = document.get("v")
    event_type = document.get("type")
    time = document.get("time")
    subject = document.get("subject", "")
    if type(version) is not int or version != LEAF_VERSION:
        raise EntryFieldError(f"leaf version {version!r} is not {LEAF_VERSION}")
    if not isinstance(event_type, str) or not isinstance(time, str) or not _TIME.fullmatch(time):
        raise EntryFieldError("a leaf needs its event type and its UTC time")
    if "subject" in document and (not isinstance(subject, str) or not _SUBJECT.fullmatch(subject)):
        raise EntryFieldError("field 'subject' does not have the required form")
    try:
        moment = dt.datetime.fromisoformat(time)
    except ValueError:
        raise EntryFieldError("a leaf's time is not a real instant") from None
    fields = {k: v for k, v in document.items() if k not in _LEDGER_MEMBERS}
    check_fields(event_type, fields)
    # check_fields admitted ASCII strings needing no escape, booleans and the integer version
    # only: for those, keys sorted and no white space is RFC 8785 (as in leaf_bytes), which
    # orjson writes as the standard library would, five times faster. A leaf read from the
    # database is text, compared as text.
    canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    if (canonical.decode() if isinstance(raw, str) else canonical) != raw:
        raise EntryFieldError("the leaf is not in canonical form (RFC 8785)")
    return LedgerRecord(version, event_type, moment, subject, fields)


def canonical_json_reference(document: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON by the rfc8785 library: the reference leaf_bytes must match."""
    return bytes(rfc8785.dumps(dict(document)))


@cache
def _subject_key(network_key: str) -> bytes:
    # A key of its own for ledger pseudonyms, derived so it never equals a 符号 derivation.
    return hmac.new(
        decode_key(network_key, "NETWORK_TOKEN_KEY"),
        b"yaritori/ledger-subject/v1",
        hashlib.sha256,
    ).digest()


def subject_key() -> bytes:
    """The key of every subject pseudonym: settings.LEDGER_SUBJECT_KEY when it is set (pinned),
    else the one derived from settings.NETWORK_TOKEN_KEY as it always was.

    Entries are never rewritten, so this key must never change while the log lives: pinning
    it (docs/operations.md, "The network token key") is what lets NETWORK_TOKEN_KEY change
    without splitting every resident's history. The pinned value is this function's result
    under the old network key, base64 (`manage.py network_key_rotate --print-subject-key`).
    """
    # Named *_key: error reports mask such variables (config.security).
    pinned_key = settings.LEDGER_SUBJECT_KEY
    if pinned_key:
        return decode_key(pinned_key, "LEDGER_SUBJECT_KEY")
    return _subject_key(settings.NETWORK_TOKEN_KEY)


def subject_key_pinned() -> bool:
    """Whether the subject key is pinned (LEDGER_SUBJECT_KEY set), so that NETWORK_TOKEN_KEY
    may change without changing any subject pseudonym."""
    return bool(settings.LEDGER_SUBJECT_KEY)


def subject_pseudonym(person_public_id: str) -> str:
    """The person's pseudonym in the ledger: SJ + 24 base32 characters, stable per key
    (subject_key)."""
    digest = hmac.new(subject_key(), person_public_id.encode(), hashlib.sha256).digest()
    # 15 bytes are exactly 24 base32 characters: the first 24 of the whole digest's.
    return "SJ" + base64.b32encode(digest[:15]).decode("ascii")
