"""Rotate the network token key (NETWORK_TOKEN_KEY): the steps of docs/operations.md."""

from __future__ import annotations

import base64
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agencies.network_key import (
    NetworkKeyError,
    SubjectKeyCheck,
    institution_tokens_reissue,
    require_ledger_subject_key,
    subject_key_check,
    tokens_count,
)
from audit.entries import subject_key

_SPLIT_WARNING = (
    "warning: the entry of the latest request holds another subject pseudonym than the key in "
    "effect gives: some process wrote entries under another ledger subject key (NETWORK_TOKEN_KEY "
    "changed before LEDGER_SUBJECT_KEY was pinned there); those entries are split from the "
    "residents' histories (docs/operations.md)"
)


class Command(BaseCommand):
    help = (
        "Rotate NETWORK_TOKEN_KEY (docs/operations.md). --print-subject-key: print the ledger "
        "subject key in effect (a secret) to pin as LEDGER_SUBJECT_KEY before the network key "
        "changes; status: the subject key and the 符号 under the key in effect; reissue: once "
        "the new NETWORK_TOKEN_KEY is in every process, re-derive every 符号 under it (refused "
        "unless LEDGER_SUBJECT_KEY is pinned), recorded in the ledger."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["status", "reissue"])
        parser.add_argument(
            "--print-subject-key",
            action="store_true",
            help="print the ledger subject key in effect, base64, to stdout (a secret)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if options["print_subject_key"] == (action is not None):
            raise CommandError("give either --print-subject-key or one of: status, reissue")
        try:
            if options["print_subject_key"]:
                self._print_subject_key()
            elif action == "status":
                self._status()
            else:
                self._reissue()
        except NetworkKeyError as error:
            raise CommandError(str(error)) from None

    def _print_subject_key(self) -> None:
        check = require_ledger_subject_key()
        # The one place the project prints a secret, because the operator asked for it.
        self.stdout.write(base64.b64encode(subject_key()).decode("ascii"))
        source = "LEDGER_SUBJECT_KEY" if check.pinned else "derived from NETWORK_TOKEN_KEY"
        self.stderr.write(
            f"the ledger subject key in effect ({source}), printed above: a SECRET, printed "
            "only on this explicit request; set it as LEDGER_SUBJECT_KEY on every process "
            "before NETWORK_TOKEN_KEY changes, keep it with the other keys, never change it"
        )
        if check.latest is False:
            self.stderr.write(_SPLIT_WARNING)

    def _status(self) -> None:
        check = subject_key_check()
        counts = tokens_count()
        self.stdout.write(
            "ledger subject key: "
            + ("pinned (LEDGER_SUBJECT_KEY)" if check.pinned else "derived from NETWORK_TOKEN_KEY")
        )
        self.stdout.write(f"first request's entry: {_verdict(check.first)}")
        self.stdout.write(f"latest request's entry: {_verdict(check.latest)}")
        self.stdout.write(
            f"符号: {counts.total}, of which {counts.stale} not under the NETWORK_TOKEN_KEY in "
            "effect"
        )
        if check.first is False or check.latest is False:
            raise CommandError(_problem(check))

    def _reissue(self) -> None:
        result = institution_tokens_reissue()
        total = result.reissued + result.unchanged
        if result.reissued:
            self.stdout.write(
                f"reissued {result.reissued} of {total} 符号 under the NETWORK_TOKEN_KEY in "
                f"effect ({result.unchanged} already were); recorded as tokens.reissued"
            )
        else:
            self.stdout.write(
                f"nothing to reissue: all {total} 符号 are already under the NETWORK_TOKEN_KEY "
                "in effect; nothing recorded"
            )
        if result.check.latest is False:
            self.stderr.write(_SPLIT_WARNING)


def _verdict(matches: bool | None) -> str:
    if matches is None:
        return "none yet"
    return "matches the subject key in effect" if matches else "DOES NOT MATCH"


def _problem(check: SubjectKeyCheck) -> str:
    if check.first is False:
        return (
            "the ledger subject key in effect is not the ledger's: set LEDGER_SUBJECT_KEY to "
            "what --print-subject-key printed under the old NETWORK_TOKEN_KEY"
        )
    return _SPLIT_WARNING.removeprefix("warning: ")
