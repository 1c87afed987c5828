"""parse_leaf takes a faster path than rebuilding the leaf (detection reads every entry through
it); here it must agree with the straightforward reader, record.leaf() == leaf, on valid
leaves and on leaves mutated in every way a byte edit can."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.entries import (
    LEAF_VERSION,
    EntryFieldError,
    LedgerRecord,
    leaf_bytes,
    parse_leaf,
)
from tests.audit.test_entries import entries


def reference_parse(raw: bytes) -> LedgerRecord:
    """The reader as first written: parse, then rebuild the leaf and compare."""
    try:
        document = json.loads(raw)
    except ValueError:
        raise EntryFieldError("json") from None
    if not isinstance(document, dict):
        raise EntryFieldError("object")
    version = document.pop("v", None)
    event_type = document.pop("type", None)
    time = document.pop("time", None)
    subject = document.pop("subject", "")
    if type(version) is not int or version != LEAF_VERSION:
        raise EntryFieldError("version")
    if not isinstance(event_type, str) or not isinstance(time, str):
        raise EntryFieldError("type/time")
    if not isinstance(subject, str):
        raise EntryFieldError("subject")
    try:
        moment = dt.datetime.strptime(time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise EntryFieldError("time") from None
    record = LedgerRecord(version, event_type, moment, subject, document)
    if record.leaf() != raw:
        raise EntryFieldError("canonical")
    return record


def outcome(reader, raw):
    try:
        return reader(raw)
    except EntryFieldError:
        return "refused"


mutations = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 4)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.binary(min_size=1, max_size=3)),
    st.tuples(st.just("replace"), st.integers(0, 10_000), st.sampled_from(list(b'"{}:,0123 aZ\\'))),
)


def mutate(leaf: bytes, mutation) -> bytes:
    kind, at, arg = mutation
    at %= len(leaf) + 1
    if kind == "delete":
        return leaf[:at] + leaf[at + arg :]
    if kind == "insert":
        return leaf[:at] + arg + leaf[at:]
    return leaf[:at] + bytes([arg]) + leaf[at + 1 :]


@settings(max_examples=600, deadline=None)
@given(entry=entries(), mutation=st.one_of(st.none(), mutations))
def test_the_fast_reader_agrees_with_the_reference(entry, mutation):
    event_type, fields, moment, subject = entry
    leaf = leaf_bytes(event_type, fields, moment, subject)
    raw = leaf if mutation is None else mutate(leaf, mutation)
    assert outcome(parse_leaf, raw) == outcome(reference_parse, raw)


def test_hand_made_edge_cases_agree():
    cases = [
        b'{"subject":"","time":"2026-06-01T00:00:00.000000Z","type":"ledger.test","v":1}',
        b'{"subject":1,"time":"2026-06-01T00:00:00.000000Z","type":"ledger.test","v":1}',
        b'{"time":"2026-06-01T24:00:00.000000Z","type":"ledger.test","v":1}',
        b'{"time":"2026-06-01T23:59:60.000000Z","type":"ledger.test","v":1}',
        b'{"time":"2026-06-01T00:00:00.000000Z","type":"ledger.test","v":1,"v":1}',
        b'{"time":"2026-06-01T00:00:00.000000Z","type":"ledger.test","v":1.0}',
        b'{"time":"2026-06-01T00:00:00.000000Z","type":"ledger.test","v":1}',
    ]
    for raw in cases:
        assert outcome(parse_leaf, raw) == outcome(reference_parse, raw), raw
