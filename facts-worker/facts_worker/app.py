"""HTTP API of the facts-worker.

  POST /embed    {"texts": [...]} -> {"model", "dim", "runtime", "vectors": [[...]], "truncated": [i...]}
  POST /similar  {"queries": [...], "candidates": [...], "top_k"?, "threshold"?}
                 -> {"model", "dim", "scores": [[q x c]], "matches": [[{"index", "score"}...] per query]}
  GET  /healthz  process alive (200 while the event loop answers)
  GET  /readyz   200 once the model is loaded and checked; 503 {"status": "loading" | "failed", "error"}

Errors are JSON {"error": code, "message": text, ...}: 400 invalid_json; 422
invalid_request / empty_input / empty_text / not_text / invalid_text; 413 batch_too_large /
text_too_long / body_too_large; 503 not_ready / overloaded (Retry-After); 502/503/504
upstream_* for the OpenAI-compatible backend. 4xx means "this request will never
work", 5xx means "try again later" — the TypeScript client classifies on that.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from .backends import Backend, DimensionMismatch, LoadError, UpstreamError, make_backend
from .metrics import Metrics
from .settings import Settings

log = logging.getLogger("facts_worker")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra


def _error_response(e: ApiError) -> JSONResponse:
    return JSONResponse({"error": e.code, "message": e.message, **e.extra}, status_code=e.status, headers=e.headers)


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(v), type(v).__name__)


# Request bodies, for the OpenAPI document only: validation is done by hand below
# so that every rejection names the field, the index and the configured limit.
class EmbedRequest(BaseModel):
    texts: list[str] = Field(description="Texts to embed, in order; each non-blank")


class SimilarRequest(BaseModel):
    queries: list[str] = Field(description="New texts (e.g. claims) to match")
    candidates: list[str] = Field(description="Existing texts to match them against")
    top_k: int | None = Field(None, ge=1, description="Keep at most this many matches per query")
    threshold: float | None = Field(None, ge=-1, le=1, description="Keep matches with cosine >= threshold")


def _body_schema(model: type[BaseModel]) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


class State:
    def __init__(self) -> None:
        self.status = "loading"  # loading | ready | failed
        self.error: str | None = None
        self.load_seconds: float | None = None
        self.pending = 0


class BodyLimit:
    """Pure ASGI middleware: refuse bodies over the limit before they are buffered."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_big = ApiError(413, "body_too_large", f"request body is larger than {self.limit} bytes (FACTS_WORKER_MAX_BODY_BYTES)",
                           limit=self.limit)
        for k, v in scope.get("headers", []):
            if k == b"content-length" and v.isdigit() and int(v) > self.limit:
                return await _error_response(too_big)(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise too_big
            return msg

        try:
            await self.app(scope, limited, send)
        except ApiError as e:  # raised while the handler read a chunked body
            await _error_response(e)(scope, receive, send)


def create_app(settings: Settings, backend: Backend | None = None) -> FastAPI:
    state = State()
    backend = backend or make_backend(settings)
    # One model call at a time: onnxruntime already uses every core for one call,
    # so parallel calls would only contend; requests queue here (bounded, see max_queue).
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
    stop = threading.Event()

    def load() -> None:
        delay = 0.5
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                backend.load()
            except (DimensionMismatch, LoadError) as e:
                state.status, state.error = "failed", str(e)
                log.error("not ready: %s", e)
                return
            except UpstreamError as e:  # endpoint down or slow at start: keep trying
                state.error = str(e)
                log.warning("embeddings endpoint not reachable yet (%s); retrying in %.1fs", e, delay)
                stop.wait(delay)
                delay = min(delay * 2, 30.0)
                continue
            except Exception as e:  # noqa: BLE001 - anything else is a bug or a broken install
                state.status, state.error = "failed", f"{type(e).__name__}: {e}"
                log.exception("model failed to load")
                return
            state.load_seconds = time.perf_counter() - t0
            state.status, state.error = "ready", None
            log.info("ready: %s (%s, %d dims) loaded in %.2fs", backend.name, backend.runtime, backend.dim, state.load_seconds)
            return

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Load off the event loop so /healthz answers (and /readyz says 503) meanwhile.
        loader = threading.Thread(target=load, name="model-loader", daemon=True)
        loader.start()
        yield
        # uvicorn has already drained in-flight requests (timeout_graceful_shutdown).
        stop.set()
        executor.shutdown(wait=True)
        backend.close()
        log.info("stopped")

    app = FastAPI(title="facts-worker", version="1.0.0", lifespan=lifespan,
                  description="On-device sentence embeddings for the facts agent.")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    metrics = Metrics(ready=lambda: state.status == "ready", queue=lambda: state.pending)
    # Outermost, so that requests refused by the body limit are counted too.
    app.add_middleware(metrics.middleware)
    app.state.worker = state

    @app.exception_handler(ApiError)
    async def api_error(_: Request, e: ApiError):
        return _error_response(e)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, e: Exception):
        # A bug, not the caller's fault: JSON like every other answer, 500 (retryable) for the client.
        log.exception("unhandled error")
        return JSONResponse({"error": "internal", "message": f"{type(e).__name__}: {e}"}, status_code=500)

    async def read_json(request: Request, fields: set[str]) -> dict:
        raw = await request.body()
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError(400, "invalid_json", f"request body is not valid JSON: {e}") from None
        if not isinstance(payload, dict):
            raise ApiError(422, "invalid_request", f"request body must be a JSON object, got {_json_type(payload)}")
        unknown = sorted(set(payload) - fields)
        if unknown:
            raise ApiError(422, "invalid_request", f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(fields))}")
        return payload

    def check_texts(payload: dict, field: str) -> list[str]:
        if field not in payload:
            raise ApiError(422, "invalid_request", f"{field} is required: a JSON array of strings")
        texts = payload[field]
        if not isinstance(texts, list):
            raise ApiError(422, "invalid_request", f"{field} must be an array of strings, got {_json_type(texts)}")
        if not texts:
            raise ApiError(422, "empty_input", f"{field} is empty: send at least one text")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise ApiError(422, "not_text", f"{field}[{i}] must be a string, got {_json_type(t)}", field=field, index=i)
            if not t.strip():
                raise ApiError(422, "empty_text", f"{field}[{i}] is empty or only whitespace", field=field, index=i)
            try:
                t.encode("utf-8")
            except UnicodeEncodeError:  # JSON allows "\ud800"; the tokenizer (and Postgres) do not
                raise ApiError(422, "invalid_text", f"{field}[{i}] is not valid Unicode (a lone surrogate escape)",
                               field=field, index=i) from None
            if len(t) > settings.max_text_chars:
                raise ApiError(413, "text_too_long",
                               f"{field}[{i}] has {len(t)} characters; the limit is {settings.max_text_chars} "
                               "(FACTS_WORKER_MAX_TEXT_CHARS)", field=field, index=i, limit=settings.max_text_chars)
        return texts

    def check_batch(n: int, what: str) -> None:
        if n > settings.max_batch:
            raise ApiError(413, "batch_too_large",
                           f"{what} has {n} texts; the limit is {settings.max_batch} (FACTS_WORKER_MAX_BATCH): "
                           "split the batch", limit=settings.max_batch)

    async def run_model(texts: list[str]):
        if state.status != "ready":
            detail = f": {state.error}" if state.error else ""
            raise ApiError(503, "not_ready", f"model is {state.status}{detail}", headers={"Retry-After": "1"})
        if state.pending >= settings.max_queue:
            raise ApiError(503, "overloaded", f"{state.pending} requests are already waiting for the model "
                           "(FACTS_WORKER_MAX_QUEUE); retry later", headers={"Retry-After": "1"})
        state.pending += 1
        try:
            t0 = time.perf_counter()
            out = await asyncio.get_running_loop().run_in_executor(executor, backend.embed, texts)
            seconds = time.perf_counter() - t0
            metrics.model_call(len(texts), len(out.truncated), seconds)
            return out, seconds * 1000
        except UpstreamError as e:
            headers = {"Retry-After": e.retry_after} if e.retry_after else None
            raise ApiError(e.status, e.code, str(e), headers=headers) from None
        finally:
            state.pending -= 1

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "model_status": state.status}

    @app.get("/metrics")
    async def prometheus_metrics():
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/readyz")
    async def readyz():
        if state.status != "ready":
            return JSONResponse({"status": state.status, "error": state.error}, status_code=503)
        return {
            "status": "ready", "model": backend.name, "runtime": backend.runtime, "backend": settings.backend,
            "dim": backend.dim, "max_batch": settings.max_batch, "max_text_chars": settings.max_text_chars,
            "max_tokens": getattr(backend, "max_tokens", None), "load_seconds": state.load_seconds,
        }

    @app.post("/embed", openapi_extra=_body_schema(EmbedRequest))
    async def embed(request: Request):
        payload = await read_json(request, {"texts"})
        texts = payload.get("texts")
        if isinstance(texts, list):
            check_batch(len(texts), "texts")
        texts = check_texts(payload, "texts")
        out, ms = await run_model(texts)
        # float32 -> float64 -> JSON keeps every float32 exactly; json.dumps is
        # far cheaper than FastAPI's response-model encoding of 10^4 floats.
        body = json.dumps({
            "model": backend.name, "runtime": backend.runtime, "dim": backend.dim,
            "truncated": out.truncated, "vectors": out.vectors.astype(np.float64).tolist(),
        }, separators=(",", ":"))
        return Response(body, media_type="application/json", headers={"Server-Timing": f"model;dur={ms:.1f}"})

    @app.post("/similar", openapi_extra=_body_schema(SimilarRequest))
    async def similar(request: Request):
        payload = await read_json(request, {"queries", "candidates", "top_k", "threshold"})
        q, c = payload.get("queries"), payload.get("candidates")
        if isinstance(q, list) and isinstance(c, list):
            check_batch(len(q) + len(c), "queries + candidates")
        queries, candidates = check_texts(payload, "queries"), check_texts(payload, "candidates")
        top_k, threshold = payload.get("top_k"), payload.get("threshold")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ApiError(422, "invalid_request", f"top_k must be a positive integer, got {json.dumps(top_k)}")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                      or not -1 <= threshold <= 1):
            raise ApiError(422, "invalid_request", f"threshold must be a number in [-1, 1], got {json.dumps(threshold)}")
        unique = list(dict.fromkeys(queries + candidates))  # restated texts are embedded once
        pos = {t: i for i, t in enumerate(unique)}
        out, ms = await run_model(unique)
        v = out.vectors
        scores = np.clip(v[[pos[t] for t in queries]] @ v[[pos[t] for t in candidates]].T, -1.0, 1.0)
        scores = np.round(scores.astype(np.float64), 6)
        matches = []
        for row in scores:
            order = np.argsort(-row, kind="stable")
            if threshold is not None:
                order = order[row[order] >= threshold]
            if top_k is not None:
                order = order[:top_k]
            matches.append([{"index": int(j), "score": float(row[j])} for j in order])
        body = json.dumps({"model": backend.name, "runtime": backend.runtime, "dim": backend.dim,
                           "scores": scores.tolist(), "matches": matches}, separators=(",", ":"))
        return Response(body, media_type="application/json", headers={"Server-Timing": f"model;dur={ms:.1f}"})

    return app
