"""Helpers shared by the test modules."""

from __future__ import annotations

import time


def wait_ready(client, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get("/readyz")
        body = r.json()
        if r.status_code == 200 or body.get("status") == "failed" or time.monotonic() > deadline:
            return {"code": r.status_code, **body}
        time.sleep(0.05)
