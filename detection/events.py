"""What detection writes to the ledger: every change auditors make to what detection looks for
(a rule switched on or off, a threshold, the watchlist) and every step of an alert's triage,
so that the rules in force at any time, and who changed them, can be read back from the log.

Codes and pseudonyms only: a rule's code, its parameters as name=value pairs of whole
numbers, the watched person as the entry's subject pseudonym, the actor's pseudonym, an
alert's number, status and reason code. docs/log-format.md lists them with the others.
"""

from __future__ import annotations

from audit.entries import BOOLEAN, register_event, text

RULE_CHANGED = "detection.rule_changed"
WATCHLIST_ADDED = "detection.watchlist_added"
WATCHLIST_REMOVED = "detection.watchlist_removed"
ALERT_TRIAGED = "detection.alert_triaged"

RULE = text(r"[a-z]+\.[a-z_]{2,40}")
# name=value pairs of whole numbers, comma separated, names in order ("" for none). A value
# never reaches 12 digits (the parameters' ranges), so no run can look like a My Number.
PARAMS = text(r"([a-z_]{1,32}=[0-9]{1,9}(,[a-z_]{1,32}=[0-9]{1,9}){0,15})?")
# Who made the change: a staff pseudonym, or AU + 16 hex digits for an auditor or
# administrator who is not staff (detection.actors.actor_pseudonym).
ACTOR = text(r"ST[0-9A-F]{16}|AU[0-9A-F]{16}|system")
WATCH_REASON = text(r"[a-z_]{2,32}")
ALERT = text(r"[1-9][0-9]{0,11}", refuse_twelve_digits=True)
STATUS = text(r"[a-z_]{2,16}")
REASON = text(r"[a-z_]{2,32}")

register_event(
    RULE_CHANGED,
    fields={"rule": RULE, "enabled": BOOLEAN, "params": PARAMS, "actor": ACTOR},
    required=("rule", "enabled", "params", "actor"),
    key="rule",
    summary="a detection rule switched on or off, or its thresholds changed by an auditor",
)
register_event(
    WATCHLIST_ADDED,
    fields={"reason": WATCH_REASON, "actor": ACTOR},
    required=("reason", "actor"),
    summary="the subject put on the auditors' watchlist: every query about them is reported",
)
register_event(
    WATCHLIST_REMOVED,
    fields={"actor": ACTOR},
    required=("actor",),
    summary="the subject taken off the auditors' watchlist",
)
register_event(
    ALERT_TRIAGED,
    fields={
        "alert": ALERT,
        "rule": RULE,
        "status": STATUS,
        "reason": REASON,
        "assigned": BOOLEAN,
        "actor": ACTOR,
    },
    required=("alert", "rule", "status", "actor"),
    key="alert",
    summary="an alert's triage: its status (new, investigating, confirmed, dismissed with a "
    "reason code) or its assignment changed",
)


def params_text(params: dict[str, int]) -> str:
    """A rule's parameters as the ledger records them: name=value pairs in name order."""
    return ",".join(f"{name}={params[name]}" for name in sorted(params))
