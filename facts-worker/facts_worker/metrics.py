"""Prometheus metrics of the worker (GET /metrics), with the official client.

One registry per app, so several apps in one process (the tests) do not collide.
Label values are bounded: the route is one of the worker's own paths or "other",
never the raw path.
"""

from __future__ import annotations

import time
from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

ROUTES = frozenset({"/embed", "/similar", "/healthz", "/readyz", "/metrics"})
# Model calls take milliseconds to seconds; requests add queueing on top.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self, ready: Callable[[], bool], queue: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "http_server_request_duration_seconds", "HTTP requests served, by route and status",
            ["http_request_method", "http_route", "http_response_status_code"], buckets=BUCKETS, registry=self.registry)
        self.model_seconds = Histogram(
            "facts_worker_model_call_duration_seconds", "One batch through the model", buckets=BUCKETS, registry=self.registry)
        self.texts = Counter("facts_worker_texts", "Texts embedded", registry=self.registry)
        self.truncated = Counter("facts_worker_texts_truncated", "Texts cut at the model's token limit", registry=self.registry)
        Gauge("facts_worker_ready", "1 when the model is loaded and serving", registry=self.registry).set_function(lambda: 1.0 if ready() else 0.0)
        Gauge("facts_worker_queue_depth", "Requests waiting for or in the model", registry=self.registry).set_function(lambda: float(queue()))
        outer = self

        class Middleware:
            """Pure ASGI: times every request, including those refused before a handler runs."""

            def __init__(self, app) -> None:
                self.app = app

            async def __call__(self, scope, receive, send):
                if scope["type"] != "http":
                    return await self.app(scope, receive, send)
                status = {"code": 500}

                async def sending(msg):
                    if msg["type"] == "http.response.start":
                        status["code"] = msg["status"]
                    await send(msg)

                t0 = time.perf_counter()
                try:
                    await self.app(scope, receive, sending)
                finally:
                    route = scope.get("path", "")
                    outer.requests.labels(scope.get("method", "GET"), route if route in ROUTES else "other",
                                          str(status["code"])).observe(time.perf_counter() - t0)

        self.middleware = Middleware

    def model_call(self, texts: int, truncated: int, seconds: float) -> None:
        self.model_seconds.observe(seconds)
        self.texts.inc(texts)
        self.truncated.inc(truncated)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
