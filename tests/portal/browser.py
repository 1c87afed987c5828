"""Helpers of the portal's browser tests: Debian's chromium through Playwright, and axe-core."""

from __future__ import annotations

import shutil

SERIOUS = {"serious", "critical"}


def launch(p):
    return p.chromium.launch(
        executable_path=shutil.which("chromium"),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page, as 'rule: target' lines."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]
