"""What the portal writes to the ledger: its event types and their fields (codes and
pseudonyms only, like every entry: docs/log-format.md). Imported by PortalConfig.ready.

Every entry's subject is the resident it is about (the card's holder, the principal of a proxy
mandate, the resident whose record was viewed or asked about), so that it appears in that
resident's own やりとり履歴.
"""

from __future__ import annotations

from audit.entries import UUID, register_event, text

CARD = text(r"CD[0-9A-F]{16}")
STAFF = text(r"ST[0-9A-F]{16}")
RESIDENT = text(r"SJ[A-Z2-7]{24}")
# An intake id: digits, and never twelve of them in a row (a My Number's shape).
RECORD = text(r"[0-9]{1,11}")
WORD = text(r"[a-z_]{2,24}")
# An auditor (agencies.events.actor_pseudonym): a staff pseudonym, or AU + 16 hex digits.
AUDITOR = text(r"ST[0-9A-F]{16}|AU[0-9A-F]{16}")

CARD_ISSUE = "card.issue"
CARD_REISSUE = "card.reissue"
CARD_LOCK = "card.lock"
CARD_RESET = "card.reset"
PROXY_NAME = "proxy.name"
PROXY_ACCEPT = "proxy.accept"
PROXY_END = "proxy.end"
PROXY_VIEW = "proxy.view"
ENQUIRY_OPEN = "enquiry.open"
ENQUIRY_ANSWER = "enquiry.answer"
ENQUIRY_CLOSE = "enquiry.close"

register_event(
    CARD_ISSUE,
    fields={"card": CARD, "actor": STAFF},
    required=("card", "actor"),
    summary="カードの交付: a counter clerk issued a card (its pseudonym) to the subject",
)
register_event(
    CARD_REISSUE,
    fields={"card": CARD, "previous_card": CARD, "actor": STAFF},
    required=("card", "previous_card", "actor"),
    summary="カードの再交付: a new card replaces previous_card, which is revoked",
)
register_event(
    CARD_LOCK,
    fields={"card": CARD, "reason": WORD},
    required=("card", "reason"),
    summary="カードのロック: three wrong PINs in a row locked the card",
)
register_event(
    CARD_RESET,
    fields={"card": CARD, "actor": STAFF},
    required=("card", "actor"),
    summary="暗証番号の初期化: a counter clerk set a new PIN, which also unlocks the card",
)
_MANDATE = {"mandate": UUID, "agent": RESIDENT, "by": WORD}
register_event(
    PROXY_NAME,
    fields=_MANDATE,
    required=("mandate", "agent"),
    key="mandate",
    summary="代理人の登録: the subject named agent as proxy (not yet accepted)",
)
register_event(
    PROXY_ACCEPT,
    fields=_MANDATE,
    required=("mandate", "agent"),
    summary="代理人の承諾: agent accepted with the one-time code",
)
register_event(
    PROXY_END,
    fields=_MANDATE,
    required=("mandate", "agent", "by"),
    summary="代理人の終了: the mandate ended, by the principal, the proxy or the system",
)
register_event(
    PROXY_VIEW,
    fields={**_MANDATE, "view": WORD, "record": RECORD},
    required=("mandate", "agent", "view"),
    summary="代理人による閲覧: agent viewed the subject's records (list, record, csv, receipt)",
)
register_event(
    ENQUIRY_OPEN,
    fields={"enquiry": UUID, "record": RECORD, "agent": RESIDENT},
    required=("enquiry", "record"),
    key="enquiry",
    summary="問い合わせ: the subject (or agent, their proxy) asked the auditors about a record",
)
register_event(
    ENQUIRY_ANSWER,
    fields={"enquiry": UUID, "record": RECORD, "actor": AUDITOR},
    required=("enquiry", "record", "actor"),
    summary="問い合わせへの回答: an auditor (actor) answered the subject's enquiry (the answer's "
    "text stays out of the log)",
)
register_event(
    ENQUIRY_CLOSE,
    fields={"enquiry": UUID, "record": RECORD, "actor": AUDITOR},
    required=("enquiry", "record", "actor"),
    summary="問い合わせの終了: an auditor (actor) closed the subject's enquiry",
)
