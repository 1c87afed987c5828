"""Start the web server, the Celery worker and beat together; stop them together.

`make run` ends here. Each child gets its own process group so that Ctrl-C (or any child
exiting) stops all three cleanly instead of leaving a worker behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _commands(port: str) -> dict[str, list[str]]:
    return {
        "web": [
            str(BIN / "gunicorn"),
            "config.wsgi",
            # No `Server: gunicorn` header (the module only patches; it sets no option).
            "--config",
            "python:config.gunicorn_banner",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--access-logformat",
            '%(h)s "%(m)s %(U)s" %(s)s %(M)sms',
        ],
        # -B runs beat inside the worker: with the filesystem broker that is what was seen to
        # deliver beat tasks here, and it keeps the demo to one Celery process.
        # The ledger's sequencer: integrates appended entries and signs checkpoints.
        "sequencer": [sys.executable, "manage.py", "ledger_sequencer"],
        "worker+beat": [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-B",
            "-l",
            "info",
            "--concurrency",
            "2",
        ],
    }


def banner(port: str) -> str:
    """The lines printed once everything is started: where to go and how to log in."""
    from agencies.demo import DEMO_PASSWORD, demo_logins

    lines = [
        "",
        "Yaritori is running (Ctrl-C stops web, sequencer, worker and beat together):",
        f"  Home             http://127.0.0.1:{port}/",
        f"  Staff pages      http://127.0.0.1:{port}/staff/",
        f"  Admin            http://127.0.0.1:{port}/admin/",
        f"  API docs         http://127.0.0.1:{port}/api/docs/",
        f"Demo logins (password for all: {DEMO_PASSWORD}):",
    ]
    lines += [f"  {username:<22} {what}" for username, what in demo_logins()]
    lines.append("Mail is written to var/mail/; demo API keys are in var/demo_api_keys.txt.")
    return "\n".join(lines)


def plain_http_defaults(environ: MutableMapping[str, str]) -> None:
    """The demo serves plain HTTP on 127.0.0.1, where a browser would drop Secure cookies and
    nobody could log in: cookies without the Secure flag, unless the caller said otherwise."""
    environ.setdefault("DJANGO_SECURE_COOKIES", "0")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    plain_http_defaults(os.environ)
    import django

    django.setup()
    port = os.environ.get("PORT", "8000")
    children: dict[str, subprocess.Popen[bytes]] = {}
    for name, cmd in _commands(port).items():
        children[name] = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    print(banner(port), flush=True)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(
                    f"{name} exited with {child.returncode}; stopping the others", file=sys.stderr
                )
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.3)
    for child in children.values():
        if child.poll() is None:
            # The leader only: gunicorn and celery shut their own workers down cleanly.
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    print("stopped web, sequencer, worker and beat", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
