"""Read queries of the linkage network."""

from __future__ import annotations

from agencies.codes import normalize_my_number
from agencies.models import Person
from agencies.mynumber_crypto import blind_index


def person_get_by_my_number(*, my_number: str) -> Person | None:
    """The person holding my_number (validated first), found through the blind index."""
    return Person.objects.filter(
        my_number_index=blind_index(normalize_my_number(my_number))
    ).first()
