"""What the dashboard writes to the ledger: every auditor look at a person's records or a
staff member's activity (audit.view), every reveal of who a staff pseudonym is
(audit.reveal), and privacy officers' appointments. Codes and pseudonyms only, like every
entry (docs/log-format.md); never an explanation typed by a person.

An audit.view about a person has that person's pseudonym as its subject, so the resident sees
it in their own やりとり履歴 (dashboard.presenters).
"""

from __future__ import annotations

from agencies.events import ACTOR as CHANGE_ACTOR
from agencies.events import ORGANIZATION
from agencies.network.events import STAFF
from audit.entries import BOOLEAN, register_event, text
from detection.events import ALERT

# Who looked: the auditor's actor pseudonym (agencies.events.actor_pseudonym), a staff
# pseudonym for a privacy officer who is staff, "AU..." otherwise. Never "system".
VIEWER = text(r"ST[0-9A-F]{16}|AU[0-9A-F]{16}")
WORD = text(r"[a-z_]{2,32}")
# An intake id: digits, and never twelve of them in a row (a My Number's shape).
RECORD = text(r"[0-9]{1,11}")

AUDIT_VIEW = "audit.view"
AUDIT_REVEAL = "audit.reveal"
OFFICER_APPOINTED = "officer.appointed"
OFFICER_ENDED = "officer.ended"

# What was looked at (the `view` field of audit.view).
VIEW_ENTRY = "entry"  # one entry's page (record: its intake id)
VIEW_SUBJECT = "subject_search"  # the entries of one subject (a search by pseudonym)
VIEW_STAFF = "staff"  # a staff member's activity (staff: the pseudonym)
VIEW_ENQUIRY = "enquiry"  # a resident's enquiry, with the record it is about
VIEW_EXPORT = "export"  # a CSV of entries (subject or staff when filtered by one)
VIEW_ALERT = "alert"  # an alert's linked entries about the subject (alert: its number)

register_event(
    AUDIT_VIEW,
    fields={
        "actor": VIEWER,
        "view": WORD,
        "purpose": WORD,
        "record": RECORD,
        "staff": STAFF,
        "organization": ORGANIZATION,
        "nondisclosure": BOOLEAN,
        "alert": ALERT,
    },
    required=("actor", "view", "purpose"),
    summary="監査担当による閲覧: an auditor (actor) looked at the subject's records, or at a staff "
    "member's activity (staff), for a stated purpose; alert is the alert whose entries "
    "were looked at; organization is the privacy officer's "
    "organisation whose entries they were; nondisclosure is true when the entry looked at is "
    "itself 不開示, so the look is hidden wherever that entry is",
)
register_event(
    AUDIT_REVEAL,
    fields={"actor": VIEWER, "staff": STAFF, "organization": ORGANIZATION, "reason": WORD},
    required=("actor", "staff", "organization", "reason"),
    summary="職員の特定: a privacy officer of organization (actor) was shown who the staff "
    "pseudonym is, for the reason named (the explanation stays out of the log)",
)
for _event, _summary in (
    (OFFICER_APPOINTED, "個人情報保護担当の任命: officer may now audit organization's entries"),
    (OFFICER_ENDED, "個人情報保護担当の終了"),
):
    register_event(
        _event,
        fields={"officer": VIEWER, "organization": ORGANIZATION, "actor": CHANGE_ACTOR},
        required=("officer", "organization", "actor"),
        summary=_summary,
    )
