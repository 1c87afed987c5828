"""docs/log-format.md lists every event type an app registers, with every member it declares."""

import re
from pathlib import Path

from audit.entries import registered_events

DOC = (Path(__file__).resolve().parents[2] / "docs" / "log-format.md").read_text()


def test_every_registered_event_type_is_documented_with_its_members():
    rows = {
        match.group(1): match.group(0)
        for match in re.finditer(r"^\| `([a-z_.]+)` \|.*$", DOC, flags=re.MULTILINE)
    }
    documented_members = set(re.findall(r"`([a-z_]+)`", DOC))
    for schema in registered_events():
        if schema.event_type.startswith(("ledger.test", "test.")):
            continue  # types that tests register for themselves
        assert schema.event_type in rows, f"{schema.event_type} is not in docs/log-format.md"
        for member in schema.fields:
            assert member in documented_members, f"{member} ({schema.event_type}) undocumented"
