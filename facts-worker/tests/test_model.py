"""The ONNX graph against the reference implementation, and load-time checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facts_worker.app import create_app
from facts_worker.backends import LocalOnnxBackend
from facts_worker.settings import Settings

from support import wait_ready

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "reference.json").read_text())


def test_vectors_match_sentence_transformers_on_pytorch(embed):
    # fixtures/reference.json comes from tools/make_reference.py (sentence-transformers + torch).
    ours = embed(REFERENCE["texts"])
    ref = np.array(REFERENCE["vectors"])
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    assert (ours * ref).sum(axis=1).min() > 0.99999


def test_graph_is_built_into_an_empty_cache_and_reused(tmp_path):
    stale = tmp_path / "all-MiniLM-L6-v2-0123456789abcdef.onnx"  # from an earlier install
    stale.write_bytes(b"old")
    s = Settings(cache_dir=tmp_path)
    a = LocalOnnxBackend(s)
    a.load()
    assert a.onnx_path is not None and a.onnx_path.parent == tmp_path and a.onnx_path.stat().st_size > 80e6
    assert not stale.exists()
    mtime = a.onnx_path.stat().st_mtime_ns
    b = LocalOnnxBackend(s)
    b.load()
    assert b.onnx_path == a.onnx_path and b.onnx_path.stat().st_mtime_ns == mtime  # cache hit, not rebuilt
    np.testing.assert_allclose(a.embed(["cache"]).vectors, b.embed(["cache"]).vectors)


def test_corrupt_cached_graph_is_rebuilt(tmp_path):
    s = Settings(cache_dir=tmp_path)
    a = LocalOnnxBackend(s)
    a.load()
    a.onnx_path.write_bytes(b"garbage")
    b = LocalOnnxBackend(s)
    b.load()
    assert b.onnx_path.stat().st_size > 80e6
    assert b.embed(["still works"]).vectors.shape == (1, 384)


def test_dimension_mismatch_fails_readiness_with_a_clear_message(cache_dir):
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(cache_dir=cache_dir, embedding_dim=512))) as c:
        ready = wait_ready(c)
        assert ready["code"] == 503 and ready["status"] == "failed"
        assert ready["error"].startswith("model all-MiniLM-L6-v2 produces 384-dimensional vectors but EMBEDDING_DIM=512")
        r = c.post("/embed", json={"texts": ["x"]})
        assert r.status_code == 503 and r.json()["error"] == "not_ready" and "EMBEDDING_DIM=512" in r.json()["message"]
        assert c.get("/healthz").status_code == 200  # alive, just not ready
