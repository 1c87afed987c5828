"""`field__any_of=[...]`: membership in a list as ONE bound array on PostgreSQL
(`= ANY(%s)`), instead of one placeholder per value (`IN (%s, %s, ...)`).

The scanner asks about thousands of subjects, cases and keys per batch; with IN, building
and binding the placeholders cost more than the queries themselves (a profile: 40 % of a
scan). SQLite has no arrays and gets IN, which it handles well enough for its embedded
use.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[Any]:
        field = self.lhs.output_field
        target = getattr(field, "target_field", field)  # a relation compares its target's value
        return [target.get_prep_value(v) for v in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if not values:
            return "1 = 0", []  # nothing is a member of the empty list
        if connection.vendor == "postgresql":
            literal = _array_literal(values)
            if literal is not None:
                return f"{lhs} = ANY(%s::{literal[1]})", [*lhs_params, literal[0]]
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


# Values that need no quoting inside an array literal: the scanner's ids, pseudonyms, codes.
_PLAIN = re.compile(r"[A-Za-z0-9_.:|-]+")


def _array_literal(values: list[Any]) -> tuple[str, str] | None:
    """values as one PostgreSQL array literal and its type, when every value is an int or a
    plain word: the driver dumps a list element by element in Python, a join is one call in
    C (a profile: 4 us of a scan's 50 per entry). None otherwise: the list goes as it is."""
    if all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}", "bigint[]"
    # An unquoted NULL in an array literal is the null value, not the word.
    if all(type(v) is str and _PLAIN.fullmatch(v) and v.upper() != "NULL" for v in values):
        return "{" + ",".join(values) + "}", "text[]"
    return None


def register() -> None:
    """Make any_of available on every field, relations included (idempotent)."""
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)
