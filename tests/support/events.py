"""The ledger's tests write entries of an event type of their own, declared here the way an app
declares its types: the ledger knows no app's fields, and its tests need none."""

from audit.entries import BOOLEAN, UUID, register_event, text

TEST_EVENT = "ledger.test"

register_event(
    TEST_EVENT,
    fields={
        "request_id": UUID,
        "related_request_id": UUID,
        "requester": text(r"[0-9]{16}"),
        "provider": text(r"[0-9]{16}"),
        "affair": text(r"JT[0-9]{14}"),
        "item": text(r"TM[0-9]{14}"),
        "staff": text(r"ST[0-9A-F]{16}"),
        "case": text(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}", refuse_twelve_digits=True),
        "outcome": text(r"[a-z_]{2,24}"),
        "reason": text(r"[a-z_]{2,48}"),
        "nondisclosure": BOOLEAN,
    },
    key="request_id",
    summary="an entry written by the ledger's own tests",
)
