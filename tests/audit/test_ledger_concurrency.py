"""Many writers and a running sequencer on PostgreSQL: no gap, no fork, verification passes."""

import threading
import uuid

import pytest
from django.conf import settings
from django.db import close_old_connections, connection, transaction

from audit.ledger import chain_genesis, chain_next, ledger_append, ledger_integrate
from audit.models import Checkpoint, LedgerEntry, LedgerIntake
from audit.tlog.hashing import leaf_hash
from audit.tlog.merkle import root_from_leaf_hashes
from tests.support.events import TEST_EVENT

WRITERS = 16
PER_WRITER = 625  # 16 x 625 = 10,000 entries


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sixteen_writers_and_a_sequencer_never_fork_or_gap():
    start = threading.Barrier(WRITERS + 1)
    writers_done = threading.Event()
    errors: list[BaseException] = []

    def writer():
        try:
            start.wait()
            for _ in range(PER_WRITER):
                with transaction.atomic():
                    ledger_append(
                        event_type=TEST_EVENT,
                        fields={"request_id": str(uuid.uuid4()), "outcome": "provided"},
                    )
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connection.close()

    def sequencer():
        try:
            start.wait()
            while True:
                finished = writers_done.is_set()
                result = ledger_integrate(max_batch=700)
                if finished and result.integrated == 0:
                    return
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    seq_thread = threading.Thread(target=sequencer)
    for t in [*threads, seq_thread]:
        t.start()
    for t in threads:
        t.join()
    writers_done.set()
    seq_thread.join()
    close_old_connections()
    assert errors == []

    total = WRITERS * PER_WRITER
    assert LedgerIntake.objects.count() == total
    seqs = list(LedgerEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(total)), "the sequence has a gap"
    assert LedgerEntry.objects.values("intake_id").distinct().count() == total
    chain = chain_genesis(settings.AUDIT_LOG_ORIGIN)
    hashes = []
    for leaf, stored_leaf_hash, stored_chain in LedgerEntry.objects.order_by("seq").values_list(
        "intake__leaf", "leaf_hash", "chain_hash"
    ):
        hashes.append(leaf_hash(leaf.encode()))
        chain = chain_next(chain, hashes[-1])
        assert bytes(stored_leaf_hash) == hashes[-1]
        assert bytes(stored_chain) == chain
    latest = Checkpoint.objects.order_by("-size").first()
    assert latest.size == total
    assert bytes(latest.root_hash) == root_from_leaf_hashes(hashes)
    assert Checkpoint.objects.count() > 1  # several batches, each checked consistent
