"""A minimal agency system client for Yaritori's agency API (standard library only).

A request presents two secrets: the system's key (which institution's system is calling) and
the operating staff member's own credential (who operates it). Both come from the environment,
never from source code:

    YARITORI_URL=http://127.0.0.1:8000 YARITORI_SYSTEM_KEY=yk_... YARITORI_OPERATOR=yo_... \\
        python docs/examples/agency_client.py JT01010000000214 TM00000000000002 \\
        9900150000000001 000000100000001

(demo keys and credentials are in var/demo_api_keys.txt after `make run`).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
import uuid


def send_request(
    *, affair: str, item: str, provider: str, addressee_number: str, case: str | None = None
) -> tuple[int, dict[str, object]]:
    """POST one 情報照会 and return (status, answer). A fresh request id makes each call a new
    request; sending the same id again replays the first answer instead of asking twice."""
    body: dict[str, object] = {
        "request_id": str(uuid.uuid4()),
        "affair": affair,
        "item": item,
        "provider": provider,
        "addressee_number": addressee_number,
    }
    if case:
        body["case"] = case
    base = os.environ["YARITORI_URL"].rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ValueError("YARITORI_URL must be an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        base + "/api/agency/requests",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {os.environ['YARITORI_SYSTEM_KEY']}",
            "X-Operator-Credential": os.environ["YARITORI_OPERATOR"],
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - checked
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:  # 4xx: the answer says what is wrong
        return error.code, json.loads(error.read() or b"{}")


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit("usage: agency_client.py AFFAIR ITEM PROVIDER ADDRESSEE_NUMBER [CASE]")
    status, answer = send_request(
        affair=sys.argv[1],
        item=sys.argv[2],
        provider=sys.argv[3],
        addressee_number=sys.argv[4],
        case=sys.argv[5] if len(sys.argv) == 6 else None,
    )
    print(status, json.dumps(answer, ensure_ascii=False, indent=1))
    sys.exit(0 if status < 400 else 1)
