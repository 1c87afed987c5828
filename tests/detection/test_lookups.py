"""any_of: membership in a list, as one bound array on PostgreSQL, the same answer as IN."""

import pytest

from detection.lookups import _array_literal
from detection.models import LedgerFact


@pytest.mark.parametrize(
    "values",
    [
        ["batch|0b8e4f21-6a3d-4c9e-8f7a-5d2c1b0e9a84", "nondisclosure|SJ6Q3ZK2M4N7P5R2T3V3W6XYAB"],
        ["NULL", "null", "a b", 'qu"ote', "back\\slash", "{brace}", "comma,", ""],
        [],
    ],
)
def test_any_of_finds_what_in_finds(db, values):
    import datetime as dt

    at = dt.datetime(2026, 6, 3, tzinfo=dt.UTC)
    for n, key in enumerate([*values, "other"]):
        LedgerFact.objects.create(seq=n, event_type="batch.opened", key=key, at=at, fields={})
    got = set(LedgerFact.objects.filter(key__any_of=values).values_list("key", flat=True))
    assert got == set(values)
    seqs = set(LedgerFact.objects.filter(seq__any_of=[0, 1]).values_list("seq", flat=True))
    assert seqs == {n for n in (0, 1) if n <= len(values)}


def test_only_plain_words_and_ints_become_a_literal():
    assert _array_literal([1, 2]) == ("{1,2}", "bigint[]")
    assert _array_literal(["SJ2A", "x|y"]) == ("{SJ2A,x|y}", "text[]")
    assert _array_literal(["NULL"]) is None
    assert _array_literal(["a,b"]) is None
    assert _array_literal([True]) is None
