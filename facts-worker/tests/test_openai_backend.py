"""EMBEDDINGS_BACKEND=openai against a small local OpenAI-compatible server (no network)."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facts_worker.app import create_app
from facts_worker.settings import Settings
from support import wait_ready

KEY = "test-key"


class FakeOpenAI:
    """POST /v1/embeddings: a deterministic bag-of-words vector (not unit length) per input."""

    def __init__(self, dim: int, port: int = 0):
        self.dim = dim
        self.requests: list[dict] = []
        self.fail: list[tuple[int, dict]] = []  # queued (status, headers) answers
        self.delay = 0.0
        self.shuffle = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                if fake.delay:
                    time.sleep(fake.delay)
                if self.path != "/v1/embeddings":
                    return self._send(404, {"error": {"message": "not found"}})
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    return self._send(401, {"error": {"message": "Incorrect API key provided"}})
                if fake.fail:
                    status, headers = fake.fail.pop(0)
                    return self._send(status, {"error": {"message": "upstream trouble"}}, headers)
                data = [{"object": "embedding", "index": i, "embedding": fake.vector(t).tolist()}
                        for i, t in enumerate(body["input"])]
                if fake.shuffle:
                    data.reverse()
                self._send(200, {"object": "list", "model": body["model"], "data": data})

            def _send(self, status, obj, headers=None):
                raw = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim)
        for w in text.lower().split():
            v[int(hashlib.sha256(w.encode()).hexdigest(), 16) % self.dim] += 3.0
        return v

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def settings_for(url: str, dim: int, **kw) -> Settings:
    return Settings(backend="openai", base_url=url, api_key=KEY, model="fake-embed", embedding_dim=dim, **kw)


@pytest.fixture()
def fake():
    f = FakeOpenAI(dim=16)
    yield f
    f.close()


def test_embeds_through_the_endpoint_with_unit_vectors_in_request_order(fake):
    fake.shuffle = True  # the API may answer out of order; "index" says where each belongs
    with TestClient(create_app(settings_for(fake.url, 16))) as c:
        ready = wait_ready(c)
        assert (ready["code"], ready["model"], ready["runtime"], ready["dim"]) == (200, "fake-embed", "openai-compatible", 16)
        texts = ["alpha beta", "gamma", "alpha beta gamma delta"]
        r = c.post("/embed", json={"texts": texts})
        assert r.status_code == 200, r.text
        v = np.array(r.json()["vectors"])
        want = np.array([fake.vector(t) for t in texts])
        want /= np.linalg.norm(want, axis=1, keepdims=True)
        np.testing.assert_allclose(v, want, atol=1e-6)
        sent = fake.requests[-1]
        assert sent["auth"] == f"Bearer {KEY}"
        assert sent["body"] == {"model": "fake-embed", "input": texts, "encoding_format": "float"}


def test_dimensions_parameter_is_sent_when_configured(fake):
    with TestClient(create_app(settings_for(fake.url, 16, send_dimensions=True))) as c:
        assert wait_ready(c)["code"] == 200
        assert fake.requests[-1]["body"]["dimensions"] == 16


def test_dimension_mismatch_fails_readiness():
    fake = FakeOpenAI(dim=32)
    try:
        with TestClient(create_app(settings_for(fake.url, 16))) as c:
            ready = wait_ready(c)
            assert ready["code"] == 503 and ready["status"] == "failed"
            assert ready["error"].startswith("model fake-embed produces 32-dimensional vectors but EMBEDDING_DIM=16")
    finally:
        fake.close()


def test_bad_api_key_fails_readiness_until_fixed_and_is_reported(fake):
    s = Settings(backend="openai", base_url=fake.url, api_key="wrong", model="fake-embed", embedding_dim=16)
    with TestClient(create_app(s)) as c:
        time.sleep(0.3)
        r = c.get("/readyz")
        assert r.status_code == 503 and "401" in r.json()["error"]


@pytest.mark.parametrize(
    "status, headers, want_status, want_code",
    [
        (500, {}, 503, "upstream_unavailable"),
        (429, {"Retry-After": "7"}, 503, "upstream_unavailable"),
        (400, {}, 502, "upstream_rejected"),
    ],
)
def test_upstream_failures_map_to_gateway_errors(fake, status, headers, want_status, want_code):
    with TestClient(create_app(settings_for(fake.url, 16))) as c:
        assert wait_ready(c)["code"] == 200
        fake.fail.append((status, headers))
        r = c.post("/embed", json={"texts": ["x"]})
        assert (r.status_code, r.json()["error"]) == (want_status, want_code)
        assert str(status) in r.json()["message"]
        if "Retry-After" in headers:
            assert r.headers["retry-after"] == "7"
        assert c.post("/embed", json={"texts": ["x"]}).status_code == 200  # next call fine again


def test_upstream_timeout_is_a_504(fake):
    with TestClient(create_app(settings_for(fake.url, 16, timeout_s=0.3))) as c:
        assert wait_ready(c)["code"] == 200
        fake.delay = 1.0
        r = c.post("/embed", json={"texts": ["slow"]})
        assert (r.status_code, r.json()["error"]) == (504, "upstream_timeout")


def test_unreachable_endpoint_at_start_becomes_ready_when_it_appears():
    with socket.socket() as s:  # a free port, closed again: connection refused until the fake starts
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with TestClient(create_app(settings_for(f"http://127.0.0.1:{port}/v1", 16))) as c:
        time.sleep(0.2)
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "loading" and "unreachable" in r.json()["error"]
        fake = FakeOpenAI(dim=16, port=port)
        try:
            assert wait_ready(c, timeout=10)["code"] == 200
        finally:
            fake.close()
