"""Load the permitted table (agencies/data/permitted_table.json) into the database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from agencies.permitted_table import permitted_table_load


class Command(BaseCommand):
    help = (
        "Load the permitted table (番号法別表第二 and its 主務省令) shipped with the project: "
        "adds the items, statutory affairs and rules that are missing; changes nothing else."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = permitted_table_load()
        self.stdout.write(
            f"permitted table: {counts.items} items, {counts.affairs} affairs and "
            f"{counts.rules} rules added"
        )
