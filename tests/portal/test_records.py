"""やりとり履歴: one row per exchange from the ledger, only the resident's own, the 不開示 ones
nowhere, internal transfers on their own tab, later event types through the generic presenter."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.test import Client

from audit.entries import register_event, subject_pseudonym, text
from audit.ledger import ledger_append
from audit.tlog.note import parse_verifier_key
from audit.tlog.receipt import verify_receipt
from portal.views import PAGE_SIZE
from tests.portal.conftest import integrate, login
from tests.support.factories import send_request, transfer_internally

pytestmark = pytest.mark.django_db


def test_the_list_shows_the_residents_exchanges_with_names_newest_first(world, resident_client):
    first = send_request(world)
    second = send_request(world, request_id=uuid.uuid4())
    response = resident_client.get("/portal/")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["row"].request_id for r in rows] == [
        str(second.request.request_id),
        str(first.request.request_id),
    ]
    row = rows[0]
    assert row["requester"] == str(world.mayor)
    assert row["provider"] == str(world.pension)
    assert row["affair"] == "児童手当の認定"
    assert row["item"] == "年金給付関係情報"
    assert row["row"].department == world.clerk.department.name
    assert row["row"].request_time == second.request.requested_at
    assert row["row"].provision_time is not None
    assert "年金給付関係情報" in response.content.decode()


def test_a_held_request_and_its_release_are_one_row(world, resident_client):
    from agencies.network.services import held_request_decide

    held = send_request(world, item=world.resident_item, provider=world.board)
    assert held.request.status == "held"
    held_request_decide(staff=world.board_clerk, request=held.request, release=True)
    rows = resident_client.get("/portal/").context["rows"]
    assert len(rows) == 1
    assert rows[0]["row"].outcome == "released"
    assert rows[0]["row"].provision_time is not None
    assert len(rows[0]["row"].related) == 1


def test_another_residents_records_are_not_listed_nor_reachable(world, resident, other_resident):
    send_request(world)  # about the world's person (resident)
    entry = ledger_append(
        event_type="internal.transfer",
        fields={
            "request_id": str(uuid.uuid4()),
            "requester": "0110020000000001",
            "provider": "0110020000000001",
            "affair": "JT02020000000001",
            "item": "TM00000000000004",
            "staff": "ST0123456789ABCDEF",
            "outcome": "provided",
            "nondisclosure": False,
        },
        subject=subject_pseudonym(str(other_resident.person.public_id)),
    )
    integrate()
    client = Client()
    login(client, other_resident.card, other_resident.pin)
    response = client.get("/portal/?tab=internal")
    assert [r["row"].intake_id for r in response.context["rows"]] == [entry.intake_id]
    assert client.get("/portal/").context["rows"] == []
    mine = Client()
    login(mine, resident.card, resident.pin)
    for suffix in ("", "proof.json", "receipt"):
        assert mine.get(f"/portal/records/{entry.intake_id}/{suffix}").status_code == 404
    assert (
        mine.post(f"/portal/records/{entry.intake_id}/enquiry", {"question": "?"}).status_code
        == 404
    )


def test_internal_transfers_have_their_own_tab(world, resident_client):
    transfer_internally(world)
    send_request(world)
    exchanges = resident_client.get("/portal/")
    internal = resident_client.get("/portal/?tab=internal")
    assert [r["row"].event_type for r in exchanges.context["rows"]] == ["linkage.request"]
    assert [r["row"].event_type for r in internal.context["rows"]] == ["internal.transfer"]
    assert internal.context["counts"] == {"exchange": 1, "internal": 1, "account": 1}
    assert "庁内連携" in internal.content.decode()


def test_filters_by_institution_affair_item_and_period(world, resident_client):
    send_request(world)  # pension item from the pension service
    send_request(world, item=world.resident_item, provider=world.board)
    by_item = resident_client.get(f"/portal/?item={world.pension_item.code}").context["rows"]
    assert [r["row"].item for r in by_item] == [world.pension_item.code]
    by_institution = resident_client.get(f"/portal/?institution={world.board.code}").context["rows"]
    assert [r["row"].provider for r in by_institution] == [world.board.code]
    by_affair = resident_client.get(f"/portal/?affair={world.school.code}").context["rows"]
    assert by_affair == []
    response = resident_client.get("/portal/?date_from=2000-01-01&date_to=2000-01-31")
    assert response.context["rows"] == []
    # The choices come from the resident's own records (in the chosen period).
    choices = dict(resident_client.get("/portal/").context["form"].fields["item"].choices)
    assert set(choices) == {"", world.pension_item.code, world.resident_item.code}


def test_pagination_is_fifty_a_page(world, resident_client):
    for _ in range(PAGE_SIZE + 3):
        send_request(world)
    first = resident_client.get("/portal/")
    second = resident_client.get("/portal/?page=2")
    assert len(first.context["rows"]) == PAGE_SIZE
    assert len(second.context["rows"]) == 3
    assert first.context["total"] == PAGE_SIZE + 3


def test_a_later_event_type_shows_through_the_generic_presenter(world, resident, resident_client):
    # As another app would register an event type the portal has never heard of.
    register_event(
        "test.viewed",
        fields={"institution": text(r"[0-9]{16}"), "staff": text(r"ST[0-9A-F]{16}")},
        required=("institution",),
        summary="a clerk viewed the person's archived record (test)",
    )
    ledger_append(
        event_type="test.viewed",
        fields={"institution": world.mayor.code, "staff": world.clerk.audit_pseudonym},
        subject=subject_pseudonym(str(resident.person.public_id)),
    )
    response = resident_client.get("/portal/")
    [row] = response.context["rows"]
    assert row["row"].category == "access"
    assert row["requester"] == str(world.mayor)
    assert row["row"].department == world.clerk.department.name
    assert "照会ではない閲覧" in response.content.decode()


def test_csv_has_a_bom_and_the_filtered_rows(world, resident_client):
    send_request(world)
    send_request(world, item=world.resident_item, provider=world.board)
    response = resident_client.get(f"/portal/records.csv?item={world.pension_item.code}")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.content
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0].startswith("照会日時")
    assert len(rows) == 2
    assert rows[1][6] == "年金給付関係情報"


def test_print_page_lists_every_filtered_row(world, resident_client):
    for _ in range(PAGE_SIZE + 1):
        send_request(world)
    response = resident_client.get("/portal/print/")
    assert len(response.context["rows"]) == PAGE_SIZE + 1
    assert b"<nav" not in response.content


def test_record_page_receipt_verifies_offline(world, resident_client, witness_dir):
    from tests.portal.conftest import witness_now

    outcome = send_request(world)
    witness_now(witness_dir)
    [row] = resident_client.get("/portal/").context["rows"]
    intake_id = row["row"].intake_id
    page = resident_client.get(f"/portal/records/{intake_id}/")
    assert page.status_code == 200
    assert page.context["row"].request_id == str(outcome.request.request_id)
    fingerprints = [k.fingerprint for k in page.context["keys"]]
    assert len(fingerprints) == 2 and all(f.encode() in page.content for f in fingerprints)
    receipt = resident_client.get(f"/portal/records/{intake_id}/receipt")
    assert receipt.status_code == 200
    assert "attachment" in receipt["Content-Disposition"]
    from audit.ledger import log_verifier
    from portal.keys import witness_verifiers

    verified = verify_receipt(
        receipt.content.decode(),
        None,
        parse_verifier_key(log_verifier().to_key_text()),
        witnesses=witness_verifiers(),
    )
    assert verified.index == row["row"].seq
    bundle = resident_client.get(f"/portal/records/{intake_id}/proof.json").json()
    assert bundle["entries"][0]["seq"] == row["row"].seq
    assert "witness.yaritori.invalid" in bundle["checkpoint"]["note"]


def test_keys_are_published_as_text(resident, witness_dir):
    from tests.portal.conftest import witness_now

    witness_now(witness_dir)
    body = Client().get("/portal/keys.txt").content.decode()
    assert "demo.yaritori.invalid/audit-log+" in body
    assert "witness.yaritori.invalid+" in body
