"""The ledger's tables (情報提供等記録). All of them are append-only, enforced by the database:
triggers refuse UPDATE, DELETE and TRUNCATE (see migrations), and on PostgreSQL the
application role is granted only INSERT and SELECT (docs/deploy.md).

Writing happens in two steps, which is what lets many writers append concurrently without a
lock on the head of the chain:

1. a writer INSERTs a LedgerIntake row inside its own transaction (durable at its commit);
2. the sequencer integrates committed intake rows in order: it gives each a sequence number,
   extends the hash chain and the Merkle tree (LedgerEntry, MerkleSubtree) and signs a
   Checkpoint, all in one transaction of its own.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LedgerIntake(models.Model):
    """受付記録: an entry as its writer committed it, waiting to be sequenced.

    leaf is the entry's RFC 8785 canonical JSON, exactly the bytes that will be hashed.
    subject and event_type are copies of two leaf fields, indexed for the resident's view;
    lookup_key is the value of the event type's key field (audit.entries.register_event).
    txid is the writing transaction's id on PostgreSQL (a database default), which tells the
    sequencer when every earlier writer has finished; it is 0 on SQLite, where writers are
    serialised and ids follow commit order.
    """

    id = models.BigAutoField(primary_key=True)
    leaf = models.TextField(_("Canonical JSON"))
    event_type = models.CharField(_("Event type"), max_length=40)
    subject = models.CharField(_("Subject pseudonym"), max_length=40, blank=True)
    # The value of the event type's key field (e.g. a request id): how a page finds the entry
    # of a request in one indexed lookup, before and after the sequencer numbers it.
    lookup_key = models.CharField(_("Lookup key"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("Recorded at"))
    txid = models.BigIntegerField(_("Transaction id"), db_default=0)

    class Meta:
        verbose_name = _("Ledger intake")
        verbose_name_plural = _("Ledger intake")
        indexes = [
            models.Index(fields=["subject", "created_at"], name="audit_intake_subject"),
            models.Index(fields=["txid", "id"], name="audit_intake_txid"),
            models.Index(
                fields=["lookup_key"],
                name="audit_intake_lookup_key",
                condition=~models.Q(lookup_key=""),
            ),
        ]

    def __str__(self) -> str:
        return f"intake {self.pk} {self.event_type}"


class LedgerEntry(models.Model):
    """情報提供等記録: a sequenced entry, leaf `seq` of the Merkle tree and link of the chain.

    chain_hash = SHA-256(previous chain_hash || leaf_hash), starting from a genesis value bound
    to the log's origin, so a single changed, removed or swapped row is located exactly.
    """

    seq = models.BigIntegerField(_("Sequence number"), primary_key=True)
    # No foreign-key constraint in the database: checking one locks the intake row (FOR KEY
    # SHARE), which rewrites its header and costs the sequencer more than everything else it
    # does. The intake table refuses DELETE anyway, and the unique index still forbids one
    # intake row being sequenced twice; audit_verify joins the two and notices any orphan.
    intake = models.OneToOneField(
        LedgerIntake,
        on_delete=models.PROTECT,
        related_name="entry",
        verbose_name=_("Intake row"),
        db_constraint=False,
    )
    leaf_hash = models.BinaryField(_("Leaf hash"), max_length=32)
    chain_hash = models.BinaryField(_("Chain hash"), max_length=32)
    integrated_at = models.DateTimeField(_("Integrated at"))

    class Meta:
        verbose_name = _("Ledger entry")
        verbose_name_plural = _("Ledger entries")

    def __str__(self) -> str:
        return f"entry {self.seq}"


class MerkleSubtree(models.Model):
    """A perfect aligned subtree of the log's Merkle tree and its hash, stored once complete.

    A subtree is named by its last leaf and its height: (last_seq, level) covers the 2**level
    leaves ending at last_seq, i.e. index (last_seq + 1) / 2**level - 1 of its level. That pair
    is the primary key, so this table carries a single index, and rows come out in the order
    verification meets them. Proofs are answered from these rows in O(log n). Subtrees of
    one leaf are not stored here: they are the entries' leaf hashes.
    """

    pk = models.CompositePrimaryKey("last_seq", "level")
    last_seq = models.BigIntegerField(_("Last leaf"))
    level = models.PositiveSmallIntegerField(_("Level"))
    hash = models.BinaryField(_("Hash"), max_length=32)

    class Meta:
        verbose_name = _("Merkle subtree")
        verbose_name_plural = _("Merkle subtrees")

    def __str__(self) -> str:
        return f"subtree L{self.level} ending at {self.last_seq}"

    @property
    def index(self) -> int:
        """Position among the subtrees of its level."""
        return ((self.last_seq + 1) >> self.level) - 1


def subtree_last_seq(level: int, index: int) -> int:
    """The last leaf of subtree (level, index)."""
    return ((index + 1) << level) - 1


class Checkpoint(models.Model):
    """署名付きチェックポイント: the log's signed statement of its size and root (C2SP
    tlog-checkpoint in a signed note). Each is consistent with the one before it."""

    size = models.BigIntegerField(_("Tree size"), unique=True)
    root_hash = models.BinaryField(_("Root hash"), max_length=32)
    note = models.TextField(_("Signed note"))
    signed_at = models.DateTimeField(_("Signed at"))

    class Meta:
        verbose_name = _("Checkpoint")
        verbose_name_plural = _("Checkpoints")
        get_latest_by = "size"

    def __str__(self) -> str:
        return f"checkpoint {self.size}"


class WitnessCosignature(models.Model):
    """証人の連署: a witness's timestamped cosignature (C2SP tlog-cosignature) of a checkpoint,
    given only after the witness checked consistency with the last checkpoint it saw."""

    checkpoint = models.ForeignKey(
        Checkpoint,
        on_delete=models.PROTECT,
        related_name="cosignatures",
        verbose_name=_("Checkpoint"),
    )
    witness = models.CharField(_("Witness name"), max_length=100)
    key_id = models.CharField(_("Key id"), max_length=8)
    line = models.TextField(_("Cosignature line"))
    timestamp = models.BigIntegerField(_("Cosigned at (POSIX time)"))

    class Meta:
        verbose_name = _("Witness cosignature")
        verbose_name_plural = _("Witness cosignatures")
        constraints = [
            models.UniqueConstraint(
                fields=["checkpoint", "witness", "key_id"], name="audit_cosignature_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.witness} on {self.checkpoint}"
