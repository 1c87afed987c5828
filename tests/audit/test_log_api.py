"""The log's HTTP API: public checkpoint and consistency; inclusion and receipts for auditors."""

import base64
import uuid

import pytest
from django.contrib.auth.models import Group

from audit.ledger import latest_checkpoint, ledger_append, ledger_integrate, log_verifier
from audit.tlog.merkle import verify_consistency, verify_inclusion
from audit.tlog.receipt import verify_receipt
from tests.support.events import TEST_EVENT


@pytest.fixture
def log(db):
    for size in (3, 10):
        while latest_checkpoint() is None or latest_checkpoint().size < size:
            ledger_append(
                event_type=TEST_EVENT,
                fields={"request_id": str(uuid.uuid4()), "outcome": "provided"},
            )
            ledger_integrate()


@pytest.fixture
def auditor_client(client, django_user_model):
    user = django_user_model.objects.create_user("audit1", password="pw")
    user.groups.add(Group.objects.get_or_create(name="auditors")[0])
    client.force_login(user)
    return client


def test_checkpoint_is_public_signed_text(client, log):
    response = client.get("/api/log/checkpoint")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == latest_checkpoint().note


def test_consistency_proof_is_public_and_verifies(client, log):
    from audit.models import Checkpoint

    old = Checkpoint.objects.get(size=3)
    new = latest_checkpoint()
    body = client.get("/api/log/consistency", {"old": 3, "new": new.size}).json()
    proof = [base64.b64decode(h) for h in body["proof"]]
    verify_consistency(3, new.size, bytes(old.root_hash), bytes(new.root_hash), proof)


@pytest.mark.parametrize(
    "query",
    [
        {"old": 5, "new": 3},
        {"old": 0, "new": 3},
        {"old": 1, "new": 999},
        {"old": "x", "new": 3},
        {},
    ],
)
def test_consistency_bad_query_is_400(client, log, query):
    response = client.get("/api/log/consistency", query)
    assert response.status_code == 400


def test_inclusion_and_receipt_need_an_auditor(client, log, django_user_model):
    assert client.get("/api/log/entries/2/inclusion").status_code == 403
    assert client.get("/api/log/entries/2/receipt").status_code == 403
    client.force_login(django_user_model.objects.create_user("clerk", password="pw"))
    assert client.get("/api/log/entries/2/receipt").status_code == 403


def test_auditor_gets_proofs_that_verify(auditor_client, log):
    from audit.models import LedgerEntry

    body = auditor_client.get("/api/log/entries/2/inclusion").json()
    checkpoint = latest_checkpoint()
    verify_inclusion(
        2,
        body["size"],
        bytes(LedgerEntry.objects.get(seq=2).leaf_hash),
        [base64.b64decode(h) for h in body["proof"]],
        bytes(checkpoint.root_hash),
    )
    receipt = auditor_client.get("/api/log/entries/2/receipt").content.decode()
    assert verify_receipt(receipt, None, log_verifier()).index == 2
    assert auditor_client.get("/api/log/entries/99/receipt").status_code == 404
