"""`make run` starts web, sequencer, worker and beat under honcho, and Ctrl-C stops them all."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    found = []
    for child in _children(pid):
        found += [child, *_descendants(child)]
    return found


def _command(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_make_run_serves_and_stops_everything_on_ctrl_c(tmp_path):
    """`make run` on a seeded database: the banner, then web, sequencer and worker with beat
    under honcho; Ctrl-C (SIGINT to the terminal's process group) stops every one of them."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    port = _free_port()
    env.update(YARITORI_VAR_DIR=str(tmp_path), YARITORI_DEMO="1")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [*manage, "seed_demo", "--residents", "50", "--no-progress"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal would give it
    )
    try:
        url = f"http://127.0.0.1:{port}/api/log/checkpoint"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = response.read().decode()
                    server_header = response.headers.get("Server")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.5)
        assert body.startswith("demo.yaritori.invalid/audit-log\n")
        assert server_header is None  # gunicorn does not name itself (config/gunicorn_banner.py)
        # Plain http on 127.0.0.1: the demo's cookies must come without the Secure flag, or
        # no browser would send them back and nobody could log in.
        login = f"http://127.0.0.1:{port}/staff/login/"
        with urllib.request.urlopen(login, timeout=5) as response:
            cookies = response.headers.get_all("Set-Cookie") or []
        assert any(c.startswith("csrftoken=") for c in cookies)
        assert not any("Secure" in c for c in cookies)
        started = _descendants(proc.pid)
        commands = {_command(pid) for pid in started}
        assert any("gunicorn" in c for c in commands)
        assert any("ledger_sequencer" in c for c in commands)
        assert any("celery" in c and "-B" in c for c in commands)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        output, _ = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "Demo logins (password for all: yaritori-demo)" in output
    assert f"http://127.0.0.1:{port}/staff/" in output
    assert [pid for pid in started if _alive(pid)] == []
