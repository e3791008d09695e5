"""Shared fixtures: the real model is loaded once per test session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastapi.testclient import TestClient  # noqa: E402

from facts_worker.app import create_app  # noqa: E402
from facts_worker.settings import Settings  # noqa: E402
from support import wait_ready  # noqa: E402


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    # The graph cache shared with `services:up` when GSWARM_HOME is set (built once);
    # otherwise a session-private folder.
    if os.environ.get("GSWARM_HOME"):
        return Path(os.environ["GSWARM_HOME"]) / "cache" / "facts-worker"
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def settings(cache_dir) -> Settings:
    # Small limits so the limit tests stay cheap; they are configuration, as in production.
    return Settings(cache_dir=cache_dir, max_batch=64, max_text_chars=4000, max_body_bytes=256 * 1024)


@pytest.fixture(scope="session")
def client(settings):
    with TestClient(create_app(settings)) as c:
        ready = wait_ready(c)
        assert ready["code"] == 200, ready
        yield c


@pytest.fixture(scope="session")
def embed(client):
    import numpy as np

    def _embed(texts: list[str]):
        r = client.post("/embed", json={"texts": texts})
        assert r.status_code == 200, r.text
        return np.array(r.json()["vectors"], dtype=np.float64)

    return _embed
