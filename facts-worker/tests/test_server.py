"""The real server process: start, backpressure, graceful SIGTERM, bad configuration."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
LONG = " ".join(["The board approved the revised budget after a long discussion of hiring."] * 20)  # ~256 tokens


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(cache_dir):
    port = free_port()
    env = {**os.environ, "FACTS_WORKER_PORT": str(port), "FACTS_WORKER_CACHE_DIR": str(cache_dir),
           # One thread: a heavy request surely takes seconds, so it is still in flight at SIGTERM.
           "FACTS_WORKER_MAX_QUEUE": "1", "FACTS_WORKER_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "facts_worker"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "worker not ready in 60 s"
        time.sleep(0.1)
    yield proc, url
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def heavy(url: str, out: list, i: int, done: list | None = None) -> None:
    out[i] = httpx.post(f"{url}/embed", json={"texts": [LONG] * 32}, timeout=120)
    if done is not None:
        done.append(time.monotonic())


def test_requests_beyond_the_queue_limit_get_503_with_retry_after(server):
    _, url = server
    out: list = [None] * 3
    threads = [threading.Thread(target=heavy, args=(url, out, i)) for i in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in out)
    assert codes[0] == 200 and codes[-1] == 503, codes
    busy = next(r for r in out if r.status_code == 503)
    assert busy.json()["error"] == "overloaded" and busy.headers["retry-after"] == "1"


def test_sigterm_lets_the_in_flight_request_finish_then_exits_cleanly(server):
    proc, url = server
    out: list = [None]
    done: list = []
    t = threading.Thread(target=heavy, args=(url, out, 0, done))
    t.start()
    time.sleep(0.3)  # the request is being computed (32 x 256 tokens on one thread: seconds)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    t.join(timeout=120)
    assert out[0] is not None and out[0].status_code == 200, out[0]
    assert len(out[0].json()["vectors"]) == 32
    assert done[0] > sent  # the answer came after the signal: it really was in flight
    # uvicorn re-raises the captured SIGTERM after its clean shutdown, so the exit status says "terminated".
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    log = proc.stdout.read()
    assert "Waiting for connections to close" in log or "Shutting down" in log
    assert "stopped" in log  # the lifespan shutdown ran after the drain
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz")


def test_invalid_configuration_exits_2_naming_the_variable():
    env = {**os.environ, "EMBEDDING_DIM": "lots", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "facts_worker"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "EMBEDDING_DIM: expected an integer, got 'lots'" in r.stderr
