"""Property: proofs served by the ledger (from its stored subtrees) verify for any size and
index, and fail after any one-bit change of a proof hash, the leaf hash or a root."""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.ledger import (
    consistency_proof_between,
    inclusion_proof_for,
    ledger_append,
    ledger_integrate,
)
from audit.models import LedgerEntry
from audit.tlog.errors import ProofError
from audit.tlog.merkle import root_from_leaf_hashes, verify_consistency, verify_inclusion
from tests.support.events import TEST_EVENT

LOG_SIZE = 77


@pytest.fixture
def stored_log(db):
    """A log of 77 entries integrated in uneven batches (hypothesis draws many examples from
    this one log within each test function)."""
    for batch in (1, 2, 3, 5, 8, 13, 21, 24):
        for _ in range(batch):
            ledger_append(event_type=TEST_EVENT, fields={"request_id": str(uuid.uuid4())})
        ledger_integrate()
    return [
        bytes(h) for h in LedgerEntry.objects.order_by("seq").values_list("leaf_hash", flat=True)
    ]


def flip(value: bytes, bit: int) -> bytes:
    data = bytearray(value)
    data[bit // 8 % len(data)] ^= 1 << (bit % 8)
    return bytes(data)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_inclusion_proofs_verify_and_any_bit_flip_fails(stored_log, data):
    leaves = stored_log
    size = data.draw(st.integers(1, LOG_SIZE))
    seq = data.draw(st.integers(0, size - 1))
    root = root_from_leaf_hashes(leaves[:size])
    proof = inclusion_proof_for(seq, size)
    verify_inclusion(seq, size, leaves[seq], proof, root)
    bit = data.draw(st.integers(0, 255))
    target = data.draw(st.sampled_from(["leaf", "root", *range(len(proof))]))
    if target == "leaf":
        args = (flip(leaves[seq], bit), proof, root)
    elif target == "root":
        args = (leaves[seq], proof, flip(root, bit))
    else:
        bad = list(proof)
        bad[target] = flip(bad[target], bit)
        args = (leaves[seq], bad, root)
    with pytest.raises(ProofError):
        verify_inclusion(seq, size, *args)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_consistency_proofs_verify_and_any_bit_flip_fails(stored_log, data):
    leaves = stored_log
    new = data.draw(st.integers(1, LOG_SIZE))
    old = data.draw(st.integers(1, new))
    old_root, new_root = root_from_leaf_hashes(leaves[:old]), root_from_leaf_hashes(leaves[:new])
    proof = consistency_proof_between(old, new)
    verify_consistency(old, new, old_root, new_root, proof)
    bit = data.draw(st.integers(0, 255))
    choices = ["old", "new", *range(len(proof))]
    target = data.draw(st.sampled_from(choices))
    if target == "old":
        args = (flip(old_root, bit), new_root, proof)
    elif target == "new":
        args = (old_root, flip(new_root, bit), proof)
    else:
        bad = list(proof)
        bad[target] = flip(bad[target], bit)
        args = (old_root, new_root, bad)
    with pytest.raises(ProofError):
        verify_consistency(old, new, *args)
