"""Signals the ledger sends, so that layers above it can react without the ledger knowing them
(the auditors' dashboard mails the auditors, for example)."""

from __future__ import annotations

from django.dispatch import Signal

witness_refused = Signal()
"""A witness refused to cosign a checkpoint of this log: sent by audit.witnessing.witness_run
with keyword arguments witness (its key name), size (the size of the checkpoint it was shown,
or None when the note could not be read) and reason (the refusal's message). A refusal means
the log showed the witness a tree that does not extend the last one it cosigned (a fork, a
rollback) or a checkpoint that is not validly signed: someone must look at once."""
