#!/usr/bin/env python3
"""Probe a Yaritori health endpoint (config/health.py) for compose and systemd.

    python3 deploy/healthcheck.py [URL]      # default http://127.0.0.1:8000/readyz

Prints the JSON body and exits 0 when the answer is 200, 1 otherwise (503, no answer, a
timeout). Standard library only: it runs in the image and on a VM without the project's code
on the path, and costs a fraction of what importing Django would.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/readyz"


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT_URL
    if not url.startswith(("http://", "https://")):
        print(f"healthcheck: not an http(s) URL: {url}", file=sys.stderr)
        return 2
    timeout = float(os.environ.get("HEALTHCHECK_TIMEOUT", "4"))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - checked above
            print(answer.read().decode("utf-8", "replace"))
            return 0 if answer.status == 200 else 1
    except urllib.error.HTTPError as answer:
        print(answer.read().decode("utf-8", "replace"))
        return 1
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
