"""Apply (or print) the PostgreSQL grants that leave the app role INSERT and SELECT only on
the ledger tables."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from audit.db_guards import grant_statements


class Command(BaseCommand):
    help = (
        "Grant the application role SELECT and INSERT on the ledger tables and revoke UPDATE, "
        "DELETE and TRUNCATE (PostgreSQL; run as the owner after migrating). --print shows "
        "the SQL instead of running it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", default="yaritori_app", help="the application role")
        parser.add_argument("--print", action="store_true", dest="print_only")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            statements = grant_statements(options["role"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["print_only"]:
            self.stdout.write("\n".join(statements))
            return
        if connection.vendor != "postgresql":
            raise CommandError("grants apply to PostgreSQL only; SQLite relies on its triggers")
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
        self.stdout.write(
            f"{options['role']}: SELECT, INSERT only on {len(statements) // 2} ledger tables"
        )
