"""Leaf bytes are RFC 8785 canonical JSON for every document the entry schema admits."""

import datetime as dt
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.entries import (
    BOOLEAN_FIELDS,
    FIELD_PATTERNS,
    EntryFieldError,
    canonical_json_reference,
    check_fields,
    leaf_bytes,
)

# Values drawn from each field's own pattern (case excluded from 12-digit runs by its check).
field_values = st.fixed_dictionaries(
    {},
    optional={
        **{
            name: st.from_regex(pattern, fullmatch=True) for name, pattern in FIELD_PATTERNS.items()
        },
        **{name: st.booleans() for name in BOOLEAN_FIELDS},
    },
)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    fields=field_values, moment=moments, event=st.from_regex(r"[a-z]+(\.[a-z_]+)+", fullmatch=True)
)
def test_leaf_bytes_equal_the_rfc8785_library(fields, moment, event):
    try:
        check_fields(event, fields)
    except EntryFieldError:
        return  # e.g. a case reference with a 12-digit run: refused, never written
    leaf = leaf_bytes(event, fields, moment)
    document = json.loads(leaf)
    assert leaf == canonical_json_reference(document)
    assert document["v"] == 1
    assert document["type"] == event


def test_time_has_one_spelling():
    moment = dt.datetime(2026, 6, 1, 18, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    leaf = leaf_bytes("linkage.request", {}, moment)
    assert b'"time":"2026-06-01T09:30:05.000000Z"' in leaf


@pytest.mark.parametrize("value", ['a"b', "a\\b", "é", "\n", "ＴＭ"])
def test_anything_needing_escapes_is_refused(value):
    with pytest.raises(EntryFieldError):
        check_fields("linkage.request", {"reason": value})
    assert not re.fullmatch(FIELD_PATTERNS["case"], value)
