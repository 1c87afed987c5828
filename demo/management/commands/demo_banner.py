"""Print where `make run` serves and how to log in (the banner shown before the processes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo.cards import demo_cards
from demo.logins import DEMO_PASSWORD, demo_logins


def banner(port: int) -> str:
    """The lines printed when `make run` starts: where to go and how to log in."""
    lines = [
        "",
        "Yaritori is starting (Ctrl-C stops web, sequencer, worker and beat together):",
        f"  Home             http://127.0.0.1:{port}/",
        f"  Staff pages      http://127.0.0.1:{port}/staff/",
        f"  Audit            http://127.0.0.1:{port}/audit/",
        f"  Admin            http://127.0.0.1:{port}/admin/",
        f"  API docs         http://127.0.0.1:{port}/api/docs/",
        f"Demo logins (password for all: {DEMO_PASSWORD}):",
    ]
    lines += [f"  {username:<22} {what}" for username, what in demo_logins()]
    cards = demo_cards()
    if cards:
        lines.append(f"Resident cards (log in at http://127.0.0.1:{port}/portal/login/):")
        lines += [f"  {c.serial}  PIN {c.pin}  {c.what}" for c in cards]
    lines.append("Mail is written to var/mail/; demo API keys are in var/demo_api_keys.txt.")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Print the addresses and demo logins that `make run` shows before it starts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="the web server's port")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(banner(options["port"]))
