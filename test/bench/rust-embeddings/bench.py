"""Same-machine comparison: the facts-worker's embeddings from Python vs from Rust.

Run by run.sh in the facts-worker's venv (PYTHONPATH=facts-worker). Three cases on the
same sentences (scenario documents), graph file, ONNX Runtime library and intra-op
thread count, interleaved call by call so that background load hits all three alike:

  python-http       a private facts-worker (same code and venv as the swarm's, own port, own
                    thread setting) over HTTP with a keep-alive connection: what the swarm pays
  python-inprocess  LocalOnnxBackend.embed in this process (no HTTP)
  rust-inprocess    the Rust binary's own timing of the same work (tokenise, sort, run)

First checks that the Rust vectors equal the Python ones (cosine >= MIN_COSINE, same
`truncated` lists), then prints JSON lines {case, metric, value, unit}.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime

from facts_worker.backends import LocalOnnxBackend
from facts_worker.settings import Settings

MIN_COSINE = 0.999
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


THREADS = env_int("BENCH_THREADS", 2)
CALLS = {1: env_int("BENCH_CALLS_1", 200), 16: env_int("BENCH_CALLS_16", 40), 64: env_int("BENCH_CALLS_64", 12)}
WARMUP = 5
SCENARIOS = Path(os.environ.get("BENCH_SCENARIOS_DIR") or REPO / "infra" / "demo" / "scenarios")
SHARED_WORKER = os.environ.get("BENCH_SHARED_WORKER_URL", "http://127.0.0.1:8010")


def emit(case: str, metric: str, value, unit: str, **extra) -> None:
    print(json.dumps({"case": case, "metric": metric, "value": value, "unit": unit, **extra}), flush=True)


def sentences() -> list[str]:
    """Every sentence of every scenario document (numbered .txt/.md files), in file order, once."""
    out: list[str] = []
    seen: set[str] = set()
    for doc in sorted(SCENARIOS.glob("*/[0-9]*")):
        if doc.suffix not in (".txt", ".md"):
            continue
        for para in re.split(r"\n\s*\n|\n(?=\s*(?:[-*#|]|\d+\.)\s)", doc.read_text(encoding="utf-8")):
            para = re.sub(r"^\s*(?:[-*#>|]+|\d+\.)\s*", "", " ".join(para.split()))
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])", para):
                s = s.strip(" |")
                if len(s.split()) >= 3 and s not in seen:
                    seen.add(s)
                    out.append(s)
    if not out:
        sys.exit(f"no sentences under {SCENARIOS}")
    return out


def documents() -> list[str]:
    """Each document, and each scenario's documents joined, as single texts: many exceed the
    model's 256-token limit, so the vector check also covers truncation."""
    docs = [d for d in sorted(SCENARIOS.glob("*/[0-9]*")) if d.suffix in (".txt", ".md")]
    texts = {d: " ".join(d.read_text(encoding="utf-8").split()) for d in docs}
    joined = [" ".join(t for d, t in texts.items() if d.parent == s) for s in sorted({d.parent for d in docs})]
    return [t[:8000] for t in [*texts.values(), *joined]]  # under FACTS_WORKER_MAX_TEXT_CHARS


def pct(sorted_ms: list[float], p: float) -> float:
    i = min(len(sorted_ms) - 1, max(0, -(-p * len(sorted_ms) // 100) - 1))
    return sorted_ms[int(i)]


class Http:
    """Keep-alive client for /embed (the TypeScript adapter also reuses connections)."""

    def __init__(self, url: str):
        m = re.fullmatch(r"http://([^:/]+):(\d+)/?", url)
        if not m:
            raise ValueError(f"expected http://host:port, got {url}")
        self.conn = http.client.HTTPConnection(m[1], int(m[2]), timeout=60)

    def _request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server dropped an idle keep-alive connection (uvicorn: after 5 s); reconnect once.
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str) -> tuple[int, bytes]:
        return self._request("GET", path)

    def embed(self, texts: list[str]) -> dict:
        status, body = self._request("POST", "/embed", json.dumps({"texts": texts}))
        if status != 200:
            raise RuntimeError(f"/embed answered {status}: {body[:300]!r}")
        return json.loads(body)


class Rust:
    def __init__(self, binary: str, backend: LocalOnnxBackend, dylib: str):
        args = [binary, "--model", str(backend.onnx_path), "--tokenizer", str(backend.model_dir / "tokenizer.json"),
                "--dylib", dylib, "--threads", str(THREADS), "--max-tokens", str(backend.max_tokens),
                "--infer-batch", str(backend.settings.infer_batch)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = json.loads(self.proc.stdout.readline() or '{"ready": false}')
        if not self.ready.get("ready"):
            raise RuntimeError(f"rust-embeddings did not start (exit {self.proc.wait()})")

    def embed(self, texts: list[str], vectors: bool = False) -> dict:
        self.proc.stdin.write(json.dumps({"texts": texts, "vectors": vectors}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"rust-embeddings exited ({self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(port: int) -> subprocess.Popen:
    env = {**os.environ, "FACTS_WORKER_PORT": str(port), "FACTS_WORKER_HOST": "127.0.0.1",
           "FACTS_WORKER_THREADS": str(THREADS), "FACTS_WORKER_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "facts_worker"], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"private facts-worker exited with {proc.returncode}")
        try:
            status, _ = Http(f"http://127.0.0.1:{port}").get("/readyz")
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("private facts-worker not ready after 120 s")


def check_vectors(texts: list[str], backend: LocalOnnxBackend, rust: Rust, http_workers: dict[str, Http]) -> bool:
    ok = True
    ref = np.concatenate([backend.embed(texts[i:i + 64]).vectors for i in range(0, len(texts), 64)])
    ref_trunc = [i + s for s in range(0, len(texts), 64) for i in backend.embed(texts[s:s + 64]).truncated]
    got = [rust.embed(texts[i:i + 64], vectors=True) for i in range(0, len(texts), 64)]
    rv = np.array([v for g in got for v in g["vectors"]], dtype=np.float32)
    r_trunc = [i + 64 * k for k, g in enumerate(got) for i in g["truncated"]]
    others = {"python-inprocess": ref}
    for name, h in http_workers.items():
        others[name] = np.array([v for i in range(0, len(texts), 64) for v in h.embed(texts[i:i + 64])["vectors"]],
                                dtype=np.float32)
    for name, vecs in others.items():
        cos = np.sum(rv * vecs, axis=1) / (np.linalg.norm(rv, axis=1) * np.linalg.norm(vecs, axis=1))
        emit("rust-vs-" + name, "min_cosine", float(cos.min()), "cosine", texts=len(texts))
        emit("rust-vs-" + name, "max_abs_diff", float(np.abs(rv - vecs).max()), "float")
        ok &= bool(cos.min() >= MIN_COSINE)
    emit("rust-vs-python-inprocess", "truncated_equal", r_trunc == ref_trunc, "bool", truncated=len(ref_trunc))
    return ok and r_trunc == ref_trunc


class OrtTimer:
    """Wraps the worker's InferenceSession to add up the time spent inside session.run."""

    def __init__(self, session):
        self.session = session
        self.ms = 0.0

    def run(self, *a, **k):
        t = time.perf_counter()
        try:
            return self.session.run(*a, **k)
        finally:
            self.ms += (time.perf_counter() - t) * 1000


def main() -> int:
    rust_bin, dylib = sys.argv[1], sys.argv[2]
    os.environ["FACTS_WORKER_THREADS"] = str(THREADS)
    texts = sentences()
    backend = LocalOnnxBackend(Settings.from_env())
    t0 = time.perf_counter()
    backend.load()
    backend.embed(["warm up"])
    py_load_ms = (time.perf_counter() - t0) * 1000
    timer = OrtTimer(backend._session)
    backend._session = timer
    tokens = [len(e.ids) for e in backend._tokenizer.encode_batch(texts)]
    emit("setup", "sentences", len(texts), "count", source=str(SCENARIOS))
    emit("setup", "tokens_per_sentence_mean", round(float(np.mean(tokens)), 1), "tokens", max=max(tokens))
    emit("setup", "intra_op_threads", THREADS, "threads", spinning=False, infer_batch=backend.settings.infer_batch,
         onnxruntime=onnxruntime.__version__, graph=backend.onnx_path.name, cpus=os.cpu_count())
    emit("setup", "loadavg_start", os.getloadavg()[0], "1-min")

    rust = Rust(rust_bin, backend, dylib)
    # Session creation (graph optimisation included) + first call; the graph file already exists.
    emit("python-inprocess", "load", round(py_load_ms), "ms")
    emit("rust-inprocess", "load", round(rust.ready["load_ms"]), "ms")
    port = free_port()
    worker = start_worker(port)
    try:
        http_private = Http(f"http://127.0.0.1:{port}")
        checked = {"python-http": http_private}
        if SHARED_WORKER:
            try:
                shared = Http(SHARED_WORKER)
                if shared.get("/readyz")[0] == 200:
                    checked["python-http-shared"] = shared
            except OSError:
                emit("setup", "shared_worker", SHARED_WORKER, "unreachable")
        if not check_vectors(texts + documents(), backend, rust, checked):
            emit("check", "vectors_match", False, "bool", min_cosine=MIN_COSINE)
            return 1
        emit("check", "vectors_match", True, "bool", min_cosine=MIN_COSINE)

        rust_ort: list[float] = []  # per Rust call: ms inside session.run

        def rust_call(b: list[str]) -> float:
            r = rust.embed(b)
            rust_ort.append(r["ort_ms"])
            return r["ms"]

        cases = {
            "python-http": lambda b: time_call(lambda: http_private.embed(b)),
            "python-inprocess": lambda b: time_call(lambda: backend.embed(b)),
            "rust-inprocess": rust_call,
        }
        for batch, calls in CALLS.items():
            samples: dict[str, list[float]] = {c: [] for c in cases}
            py_ort: list[float] = []  # per Python call: ms inside session.run
            rust_ort.clear()
            names = list(cases)
            for i in range(-WARMUP, calls):
                start = (max(i, 0) * batch) % len(texts)
                b = (texts[start:] + texts)[:batch]  # wraps around: fewer sentences than calls × batch
                # Rotate the order every call so that none of the cases always runs first.
                for name in names[i % 3:] + names[: i % 3]:
                    if name == "python-inprocess":
                        before = timer.ms
                    ms = cases[name](b)
                    if i >= 0:
                        samples[name].append(ms)
                        if name == "python-inprocess":
                            py_ort.append(timer.ms - before)
                    elif name == "rust-inprocess":
                        rust_ort.pop()
            for name, s in samples.items():
                s_sorted = sorted(s)
                emit(name, f"batch{batch}_sentences_per_s", round(batch * calls / (sum(s) / 1000), 1), "sentences/s")
                emit(name, f"batch{batch}_p50", round(pct(s_sorted, 50), 2), "ms")
                emit(name, f"batch{batch}_p99", round(pct(s_sorted, 99), 2), "ms")
            p50 = {n: pct(sorted(s), 50) for n, s in samples.items()}
            tput = {n: batch * calls / sum(s) for n, s in samples.items()}
            emit("ratio", f"batch{batch}_rust_vs_python_inprocess_throughput",
                 round(tput["rust-inprocess"] / tput["python-inprocess"], 3), "x")
            emit("ratio", f"batch{batch}_rust_vs_python_http_throughput",
                 round(tput["rust-inprocess"] / tput["python-http"], 3), "x")
            emit("ratio", f"batch{batch}_python_inprocess_vs_http_throughput",
                 round(tput["python-inprocess"] / tput["python-http"], 3), "x")
            emit("ratio", f"batch{batch}_http_overhead_p50", round(p50["python-http"] - p50["python-inprocess"], 2), "ms")
            # How much of each in-process call is ONNX Runtime itself (the rest: tokenising, padding, copying).
            for name, ort in (("python-inprocess", py_ort), ("rust-inprocess", rust_ort)):
                emit(name, f"batch{batch}_share_in_session_run", round(sum(ort) / sum(samples[name]), 3), "fraction")
                emit(name, f"batch{batch}_session_run_p50", round(pct(sorted(ort), 50), 2), "ms")
                emit(name, f"batch{batch}_outside_session_run_p50",
                     round(pct(sorted(t - o for t, o in zip(samples[name], ort)), 50), 3), "ms")
        emit("setup", "loadavg_end", os.getloadavg()[0], "1-min")
        return 0
    finally:
        rust.close()
        worker.terminate()
        worker.wait(timeout=60)


def time_call(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


if __name__ == "__main__":
    sys.exit(main())
