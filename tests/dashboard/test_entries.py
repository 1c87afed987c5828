"""Searching entries (sequence number, request id, subject pseudonym, case), an entry's page
(its facts, its inclusion proof, its neighbours in the chain), keyset pages, and the CSV
export (UTF-8 with BOM, streamed)."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid

import pytest
from django.db import connection
from django.http import StreamingHttpResponse

from audit.db_guards import triggers_disabled
from audit.entries import subject_pseudonym
from audit.ledger import ledger_append, log_verifier
from audit.models import LedgerEntry
from audit.tlog.checkpoint import Checkpoint as CheckpointBody
from audit.tlog.hashing import leaf_hash
from audit.tlog.merkle import verify_inclusion
from audit.tlog.note import open_note
from audit.tlog.receipt import verify_receipt
from dashboard.selectors import SearchTarget, classify_search
from tests.dashboard.conftest import integrate_and_index
from tests.support.factories import send_request


def test_the_search_box_reads_what_it_is_given():
    rid = str(uuid.uuid4())
    assert classify_search(" 42 ") == SearchTarget("seq", "42")
    assert classify_search("#7") == SearchTarget("seq", "7")
    assert classify_search(rid.upper()) == SearchTarget("key", rid)
    assert classify_search("sj" + "a" * 24) == SearchTarget("subject", "SJ" + "A" * 24)
    assert classify_search("ST0123456789ABCDEF") == SearchTarget("staff", "ST0123456789ABCDEF")
    assert classify_search("SAP-2026-000123") == SearchTarget("case", "SAP-2026-000123")
    assert classify_search("名前で検索") == SearchTarget("", "")


def test_a_number_or_a_request_id_opens_the_entry(clients, traffic, world):
    seq = traffic.city[0]
    response = clients.national.get(f"/audit/entries/?q={seq}&purpose=complaint")
    assert response["Location"] == f"/audit/entries/{seq}/?purpose=complaint"
    request_id = json.loads(LedgerEntry.objects.get(seq=seq).intake.leaf)["request_id"]
    response = clients.officer.get(f"/audit/entries/?q={request_id}")
    assert response["Location"] == f"/audit/entries/{seq}/"
    # Recorded but not yet sequenced: said so; unknown: said so.
    outcome = send_request(world)
    waiting = clients.national.get(f"/audit/entries/?q={outcome.request.request_id}")
    assert waiting.status_code == 200
    assert [str(m) for m in waiting.context["messages"]] == [
        "記録されていますが、まだログの番号がありません。しばらくしてからもう一度どうぞ。"
    ]
    unknown = clients.national.get(f"/audit/entries/?q={uuid.uuid4()}")
    assert [str(m) for m in unknown.context["messages"]] == ["このIDの記録はありません。"]
    assert unknown.context["page"] is None  # not the whole log instead
    odd = clients.national.get("/audit/entries/", {"q": "名前で検索"})
    assert odd.context["page"] is None and len(list(odd.context["messages"])) == 1


def test_a_case_lists_its_entries(clients, world):
    for case in ("SAP-2026-1", "SAP-2026-1", "SAP-2026-2"):
        ledger_append(
            event_type="linkage.request",
            fields={
                "request_id": str(uuid.uuid4()),
                "requester": world.mayor.code,
                "provider": world.pension.code,
                "affair": world.affair.code,
                "item": world.pension_item.code,
                "staff": world.clerk.audit_pseudonym,
                "outcome": "provided",
                "nondisclosure": False,
                "case": case,
            },
        )
    integrate_and_index()
    rows = clients.officer.get("/audit/entries/?q=SAP-2026-1").context["page"].rows
    assert [r.case for r in rows] == ["SAP-2026-1", "SAP-2026-1"]


def test_pages_go_by_sequence_number_without_counting(clients, world):
    for n in range(120):
        ledger_append(
            event_type="case.opened",
            fields={
                "case": f"C-{n}",
                "affair": world.affair.code,
                "institution": world.mayor.code,
                "department": "D1",
                "staff": world.clerk.audit_pseudonym,
            },
        )
    integrate_and_index()
    first = clients.officer.get("/audit/entries/?event_type=case.opened").context["page"]
    assert len(first.rows) == 50 and first.newer is None and first.older is not None
    second = clients.officer.get(
        f"/audit/entries/?event_type=case.opened&before={first.older}"
    ).context["page"]
    assert second.rows[0].seq == first.rows[-1].seq - 1
    third = clients.officer.get(
        f"/audit/entries/?event_type=case.opened&before={second.older}"
    ).context["page"]
    assert len(third.rows) == 20 and third.older is None
    back = clients.officer.get(
        f"/audit/entries/?event_type=case.opened&after={third.newer}"
    ).context["page"]
    assert [r.seq for r in back.rows] == [r.seq for r in second.rows]


def test_an_entry_page_holds_every_fact_the_law_asks_for(clients, traffic, world):
    seq = traffic.city[0]
    page = clients.national.get(f"/audit/entries/{seq}/?purpose=routine_audit")
    html = page.content.decode()
    rows = {row.key: row for row in page.context["rows"]}
    assert rows["requester"].code == world.mayor.code and rows["requester"].name
    assert rows["provider"].code == world.pension.code
    assert rows["affair"].name == "児童手当の認定" and rows["item"].name == "年金給付関係情報"
    assert rows["staff"].code == world.clerk.audit_pseudonym
    assert rows["nondisclosure"].code == "false"  # the marker, to a national auditor
    assert page.context["linkage"].requested_at is not None  # the request's own times
    for label in ("事象の日時", "受付日時", "ログへの採番日時"):
        assert label in html


def test_the_neighbours_in_the_chain_are_shown_and_checked(clients, traffic):
    seq = traffic.city[1]
    chain = clients.national.get(f"/audit/entries/{seq}/?purpose=integrity").context["chain"]
    before, this, after = (LedgerEntry.objects.get(seq=s) for s in (seq - 1, seq, seq + 1))
    assert (
        chain.previous.seq == seq - 1
        and chain.previous.chain_hash == bytes(before.chain_hash).hex()
    )
    assert chain.following.seq == seq + 1
    assert chain.leaf_hash_ok and chain.link_ok and chain.following.holds
    assert chain.following.leaf_hash == bytes(after.leaf_hash).hex()
    assert this.seq == seq
    # A chain hash rewritten by the database owner shows at once.
    with triggers_disabled(connection):
        LedgerEntry.objects.filter(seq=seq).update(chain_hash=b"\x00" * 32)
    page = clients.national.get(f"/audit/entries/{seq}/?purpose=integrity")
    assert not page.context["chain"].link_ok and not page.context["chain"].following.holds
    assert "check bad" in page.content.decode()


def test_the_proof_bundle_and_receipt_verify_against_the_log_key(clients, traffic):
    seq = traffic.city[2]
    clients.officer.get(f"/audit/entries/{seq}/?purpose=enquiry")
    bundle = clients.officer.get(f"/audit/entries/{seq}/proof.json").json()
    [entry] = bundle["entries"]
    assert entry["seq"] == seq
    text, _ = open_note(bundle["checkpoint"]["note"], [log_verifier()])
    checkpoint = CheckpointBody.parse(text)
    verify_inclusion(
        seq,
        checkpoint.size,
        leaf_hash(entry["leaf"].encode()),
        [base64.b64decode(h) for h in entry["proof"]],
        checkpoint.root_hash,
    )
    receipt = clients.officer.get(f"/audit/entries/{seq}/receipt").content.decode()
    assert verify_receipt(receipt, entry["leaf"].encode(), log_verifier()).index == seq


def _csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content)  # type: ignore[arg-type]
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_is_streamed_with_a_bom_for_any_filter(clients, world):
    for n in range(2500):
        ledger_append(
            event_type="linkage.request",
            fields={
                "request_id": str(uuid.UUID(int=n + 1, version=4)),
                "requester": world.mayor.code,
                "provider": world.pension.code if n % 2 else world.board.code,
                "affair": world.affair.code,
                "item": world.pension_item.code if n % 2 else world.resident_item.code,
                "staff": world.clerk.audit_pseudonym,
                "outcome": "provided",
                "nondisclosure": False,
            },
        )
    integrate_and_index()
    response = clients.national.get("/audit/entries.csv?event_type=linkage.request")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="yaritori-entries-')
    rows = _csv(response)
    assert rows[0][0] == "ログ上の番号 (Log entry)" and rows[0][-1] == "不開示 (Not disclosed)"
    assert len(rows) == 2501
    seqs = [int(r[0]) for r in rows[1:]]
    assert seqs == sorted(seqs, reverse=True)
    filtered = _csv(clients.officer.get(f"/audit/entries.csv?item={world.pension_item.code}"))
    assert len(filtered) == 1251 and {r[11] for r in filtered[1:]} == {world.pension_item.code}
    assert "不開示 (Not disclosed)" not in filtered[0]
    assert "年金給付関係情報" in {r[12] for r in filtered[1:]}


def test_a_bad_filter_exports_nothing(clients, traffic):
    response = clients.national.get(
        "/audit.entries.csv".replace(".entries", "/entries") + "?date_from=yesterday"
    )
    assert response.status_code == 400


def test_a_search_by_subject_lists_their_entries(clients, traffic, world):
    subject = subject_pseudonym(str(world.person.public_id))
    rows = (
        clients.national.get(f"/audit/entries/?subject={subject}&purpose=routine_audit")
        .context["page"]
        .rows
    )
    assert {r.seq for r in rows} == {*traffic.city, traffic.hidden}
    assert all(r.subject == subject for r in rows)


@pytest.mark.parametrize("q", ["' OR 1=1 --", "%", "a" * 64])
def test_odd_searches_are_harmless(clients, traffic, q):
    assert clients.national.get("/audit/entries/", {"q": q}).status_code == 200
