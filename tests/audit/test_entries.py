"""Ledger entries: the schemas apps register, leaf bytes (RFC 8785 canonical JSON) and the
reader that turns a leaf back into a typed record."""

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.entries import (
    BOOLEAN,
    UUID,
    EntryFieldError,
    canonical_json_reference,
    check_fields,
    event_schema,
    leaf_bytes,
    parse_leaf,
    read_leaf,
    register_event,
    registered_events,
    text,
)
from tests.support.events import TEST_EVENT

moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)
subjects = st.one_of(st.just(""), st.from_regex(r"SJ[A-Z2-7]{24}", fullmatch=True))


def field_values(schema):
    """Documents of every field combination the schema admits, values drawn from each
    field's own pattern (a free-form value with a run of 12 digits is filtered out)."""
    strategies = {}
    for name, spec in schema.fields.items():
        if spec.pattern is None:
            strategies[name] = st.booleans()
        else:
            strategies[name] = st.from_regex(spec.pattern, fullmatch=True).filter(spec.admits)
    required = {name: strategies[name] for name in schema.required}
    optional = {name: s for name, s in strategies.items() if name not in schema.required}
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def entries(draw):
    """An entry of any registered event type (the network's and the tests' own)."""
    schema = draw(st.sampled_from(registered_events()))
    return schema.event_type, draw(field_values(schema)), draw(moments), draw(subjects)


@settings(max_examples=400, deadline=None)
@given(entry=entries())
def test_leaf_bytes_equal_the_rfc8785_library(entry):
    event_type, fields, moment, subject = entry
    leaf = leaf_bytes(event_type, fields, moment, subject)
    document = json.loads(leaf)
    assert leaf == canonical_json_reference(document)
    assert document["v"] == 1
    assert document["type"] == event_type


@settings(max_examples=400, deadline=None)
@given(entry=entries())
def test_a_leaf_reads_back_into_the_record_it_was_written_from(entry):
    event_type, fields, moment, subject = entry
    leaf = leaf_bytes(event_type, fields, moment, subject)
    record = parse_leaf(leaf)
    assert (record.event_type, dict(record.fields), record.subject) == (event_type, fields, subject)
    # The leaf keeps microseconds: the instant comes back exactly.
    assert record.time == moment
    assert record.leaf() == leaf
    assert parse_leaf(leaf.decode("ascii")) == record
    assert read_leaf(leaf) == record  # the display reader reads the same record


def test_every_event_type_the_network_writes_is_registered():
    assert {"linkage.request", "linkage.release", "linkage.decline", "internal.transfer"} <= {
        schema.event_type for schema in registered_events()
    }
    assert event_schema("linkage.request").key == "request_id"


def test_time_has_one_spelling():
    moment = dt.datetime(2026, 6, 1, 18, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    leaf = leaf_bytes(TEST_EVENT, {}, moment)
    assert b'"time":"2026-06-01T09:30:05.000000Z"' in leaf


@pytest.mark.parametrize("value", ['a"b', "a\\b", "é", "\n", "ＴＭ"])
def test_anything_needing_escapes_is_refused(value):
    with pytest.raises(EntryFieldError):
        check_fields(TEST_EVENT, {"reason": value})
    assert not event_schema(TEST_EVENT).fields["case"].admits(value)


@pytest.mark.parametrize(
    ("event_type", "fields", "message"),
    [
        ("no.such_event", {}, "not registered"),
        (TEST_EVENT, {"name": "山田"}, "may not appear"),
        (TEST_EVENT, {"case": "R8-123456789012"}, "required form"),  # a My Number's shape
        (TEST_EVENT, {"nondisclosure": "true"}, "required form"),
        ("linkage.request", {"request_id": "0b8e4f21-6a3d-4c9e-8f7a-5d2c1b0e9a84"}, "needs"),
    ],
)
def test_what_the_schemas_refuse(event_type, fields, message):
    with pytest.raises(EntryFieldError, match=message):
        check_fields(event_type, fields)


def test_a_subject_must_be_a_ledger_pseudonym():
    moment = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    with pytest.raises(EntryFieldError, match="subject"):
        leaf_bytes(TEST_EVENT, {}, moment, subject="山田太郎")


@pytest.mark.parametrize(
    "leaf",
    [
        b"[]",
        b"not json",
        b'{"time":"2026-06-01T00:00:00.000000Z","type":"ledger.test","v":2}',
        b'{"time":"2026-06-01T00:00:00Z","type":"ledger.test","v":1}',
        b'{"time":"2026-02-30T00:00:00.000000Z","type":"ledger.test","v":1}',
        b'{"time":"2026-06-01T00:00:00.000000Z","type":"no.such_event","v":1}',
        b'{"name":"x","time":"2026-06-01T00:00:00.000000Z","type":"ledger.test","v":1}',
        b'{"time":"2026-06-01T00:00:00.000000Z","type":"ledger.test","v":true}',
        # Valid content, not canonical: keys out of order, or white space.
        b'{"v":1,"type":"ledger.test","time":"2026-06-01T00:00:00.000000Z"}',
        b'{"time": "2026-06-01T00:00:00.000000Z", "type": "ledger.test", "v": 1}',
    ],
)
def test_the_reader_refuses_what_leaf_bytes_would_never_write(leaf):
    with pytest.raises(EntryFieldError):
        parse_leaf(leaf)


@pytest.mark.parametrize("leaf", [b"[]", b"not json", b'{"type":"x","v":1}', b'{"time":1}'])
def test_the_display_reader_refuses_what_is_no_leaf_at_all(leaf):
    with pytest.raises(EntryFieldError):
        read_leaf(leaf)


def test_registering_is_idempotent_and_refuses_a_change():
    fields = {"request_id": UUID, "flag": BOOLEAN}
    first = register_event("ledger.test_twice", fields=fields, key="request_id")
    assert register_event("ledger.test_twice", fields=fields, key="request_id") == first
    with pytest.raises(ValueError, match="already registered"):
        register_event("ledger.test_twice", fields={"request_id": UUID}, key="request_id")
    with pytest.raises(ValueError, match="ledger's own"):
        register_event("ledger.test_subject", fields={"subject": text(r"[A-Z]+")})
    with pytest.raises(ValueError, match="declared fields"):
        register_event("ledger.test_key", fields=fields, key="missing")
