"""Issue or revoke an operator's own credential for the agency API."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agencies.models import OperatorCredential, StaffMember
from agencies.services import operator_credential_issue, operator_credential_revoke


class Command(BaseCommand):
    help = (
        "Issue an operator credential to a staff member (printed once; only its SHA-256 is "
        "kept), or revoke one by its prefix. Both are recorded in the ledger."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = parser.add_subparsers(dest="verb", required=True)
        issue = verbs.add_parser("issue", help="issue a credential to USERNAME")
        issue.add_argument("username")
        revoke = verbs.add_parser("revoke", help="revoke the credential with PREFIX")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "issue":
            staff = (
                StaffMember.objects.select_related("institution")
                .filter(user__username=options["username"], user__is_active=True)
                .first()
            )
            if staff is None:
                raise CommandError(f"no active staff member {options['username']!r}")
            issued, secret = operator_credential_issue(staff=staff)
            self.stdout.write(f"{secret}")
            self.stderr.write(f"issued {issued.prefix}... to {staff} (shown once: store it now)")
            return
        credential = OperatorCredential.objects.filter(prefix=options["prefix"]).first()
        if credential is None:
            raise CommandError(f"no operator credential with prefix {options['prefix']!r}")
        if credential.revoked_at is not None:
            raise CommandError(f"credential {credential.prefix} was already revoked")
        operator_credential_revoke(credential=credential)
        self.stdout.write(f"revoked {credential.prefix}")
