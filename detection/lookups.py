"""`field__any_of=[...]`: membership in a list as ONE bound array on PostgreSQL
(`= ANY(%s)`), instead of one placeholder per value (`IN (%s, %s, ...)`).

The scanner asks about thousands of subjects, cases and keys per batch; with IN, building
and binding the placeholders cost more than the queries themselves (a profile: 40 % of a
scan). SQLite has no arrays and gets IN, which it handles well enough for its embedded
use.
"""

from __future__ import annotations

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
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


def register() -> None:
    """Make any_of available on every field, relations included (idempotent)."""
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)
