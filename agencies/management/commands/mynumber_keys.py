"""Manage the My Number encryption keyring: status, new (demo key files only), reencrypt."""

from __future__ import annotations

import base64
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from agencies.models import Person
from agencies.mynumber_crypto import Keyring, current_keyring
from agencies.services import mynumber_reencrypt
from core.keys import random_keyring_line


class Command(BaseCommand):
    help = (
        "status: which key encrypts how many My Numbers; new: prepend a fresh key to the demo "
        "keyring file in var/keys; reencrypt: rewrite every My Number under the current key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "new", "reencrypt"])
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "status":
            self._status()
        elif action == "new":
            self._new()
        else:
            if options["batch_size"] < 1:
                raise CommandError("--batch-size must be a positive number")
            count = mynumber_reencrypt(batch_size=options["batch_size"])
            self.stdout.write(
                f"re-encrypted {count} My Numbers under key {current_keyring().current_id}"
            )

    def _status(self) -> None:
        ring = current_keyring()
        counts = dict(
            Person.objects.filter(my_number_ciphertext__isnull=False)
            .values_list("my_number_key_id")
            .annotate(n=Count("pk"))
            .values_list("my_number_key_id", "n")
        )
        for key_id in ring.keys:
            marker = " (current)" if key_id == ring.current_id else ""
            self.stdout.write(f"{key_id}{marker}: {counts.pop(key_id, 0)}")
        for key_id, n in counts.items():
            self.stdout.write(f"{key_id} (MISSING FROM KEYRING): {n}")

    def _new(self) -> None:
        if os.environ.get("MYNUMBER_ENCRYPTION_KEYS") or os.environ.get(
            "MYNUMBER_ENCRYPTION_KEYS_FILE"
        ):
            raise CommandError(
                "the keyring comes from the environment: prepend a new 'id:base64' entry to "
                "MYNUMBER_ENCRYPTION_KEYS yourself, restart, then run 'mynumber_keys reencrypt'"
            )
        path = settings.KEYS_DIR / "mynumber_encryption_keys"
        old = Keyring.parse(path.read_text())
        line = random_keyring_line()
        new_text = line + "," + ",".join(f"{k}:{_b64(v)}" for k, v in old.keys.items())
        Keyring.parse(new_text)  # refuse to write anything that would not load
        tmp = path.with_suffix(".tmp")
        tmp.write_text(new_text + "\n")
        os.chmod(tmp, 0o600)
        tmp.replace(path)
        self.stdout.write(
            f"new current key {line.partition(':')[0]} written to {path}; "
            "restart the services, then run 'mynumber_keys reencrypt'"
        )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
