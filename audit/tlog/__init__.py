"""Transparency-log building blocks for Yaritori's audit log, with no Django import.

Everything here depends only on the Python standard library and `cryptography`, so that a
resident or an auditor can copy this folder and check receipts and checkpoints offline.

Modules:

* hashing      -- RFC 6962 leaf and node hashes (SHA-256 with 0x00 / 0x01 prefixes).
* merkle       -- tree roots, inclusion and consistency proofs (generation from stored
                  perfect-subtree hashes, and RFC 9162 verification), MerkleFrontier for appends.
* note         -- C2SP signed notes with Ed25519 and their key texts.
* checkpoint   -- C2SP tlog-checkpoint bodies.
* cosignature  -- C2SP tlog-cosignature (timestamped Ed25519 witness cosignatures).
* receipt      -- C2SP tlog-proof receipts for one entry, and their verification.
* verify       -- the command-line verifier: ``python -m audit.tlog.verify --help``.

All verification failures raise a subclass of errors.TlogError (a ValueError).
"""
