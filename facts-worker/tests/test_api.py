"""The HTTP API with the real all-MiniLM-L6-v2 model and real vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest

CLAIM = "We will hire 20 engineers in Q4"
RESTATED = "The company plans to hire approximately 20 engineers in the fourth quarter"
UNRELATED = "Revenue for Q3 was $2.1M"


def test_readyz_names_model_runtime_and_dim(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert (body["model"], body["runtime"], body["dim"], body["max_tokens"]) == ("all-MiniLM-L6-v2", "onnxruntime", 384, 256)


def test_healthz(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_embed_returns_unit_vectors_of_the_configured_dim(client):
    r = client.post("/embed", json={"texts": [CLAIM, UNRELATED]})
    assert r.status_code == 200
    body = r.json()
    assert (body["model"], body["dim"], body["truncated"]) == ("all-MiniLM-L6-v2", 384, [])
    v = np.array(body["vectors"])
    assert v.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert "model;dur=" in r.headers["server-timing"]


@pytest.mark.parametrize(
    "claim, restated, unrelated",
    [
        (CLAIM, RESTATED, UNRELATED),
        ("Customer churn rose to 4.2% last month", "Last month the churn rate increased to 4.2 percent",
         "The acquisition is expected to close on March 31"),
        ("The Frankfurt data centre lease expires in 2027", "Our lease on the data center in Frankfurt runs out in 2027",
         "A former distributor is suing us for EUR 1.5 million"),
    ],
)
def test_paraphrases_score_closer_than_unrelated_sentences(embed, claim, restated, unrelated):
    a, b, c = embed([claim, restated, unrelated])
    same, other = float(a @ b), float(a @ c)
    # Measured: restatements 0.64-0.95, unrelated claims 0.09-0.27 (tools/similarity_table.py): a margin, not just an order.
    assert same > 0.6, same
    assert other < 0.45, other
    assert same - other > 0.3


def test_batch_and_single_calls_agree(embed):
    # Mixed lengths: in the batch the short texts are padded, alone they are not; masking must make that irrelevant.
    texts = [CLAIM, RESTATED, UNRELATED, "x", " ".join(["A much longer sentence about quarterly results."] * 12)]
    batch = embed(texts)
    single = np.vstack([embed([t]) for t in texts])
    np.testing.assert_allclose(batch, single, atol=2e-6)


def test_batch_order_is_preserved_although_computed_length_sorted(embed):
    texts = ["short", "a somewhat longer text than the first", "mid length text", "tiny"]
    fwd = embed(texts)
    rev = embed(texts[::-1])[::-1]
    np.testing.assert_allclose(fwd, rev, atol=2e-6)
    assert float(fwd[0] @ fwd[1]) < 0.999  # distinct texts, distinct vectors


def test_texts_over_the_token_limit_are_embedded_and_reported_truncated(client):
    long = " ".join(["word"] * 600)  # ~600 tokens > 256, but under the character limit
    r = client.post("/embed", json={"texts": ["short", long]})
    assert r.status_code == 200
    assert r.json()["truncated"] == [1]


def test_similar_scores_queries_against_candidates(client):
    r = client.post("/similar", json={"queries": [CLAIM, UNRELATED], "candidates": [UNRELATED, RESTATED, CLAIM],
                                      "threshold": 0.5})
    assert r.status_code == 200
    body = r.json()
    scores = np.array(body["scores"])
    assert scores.shape == (2, 3)
    assert scores[0, 2] == pytest.approx(1.0, abs=1e-5) and scores[1, 0] == pytest.approx(1.0, abs=1e-5)
    assert [m["index"] for m in body["matches"][0]] == [2, 1]  # itself, then the restatement; unrelated cut by threshold
    assert [m["index"] for m in body["matches"][1]] == [0]
    top1 = client.post("/similar", json={"queries": [CLAIM], "candidates": [UNRELATED, RESTATED], "top_k": 1}).json()
    assert top1["matches"] == [[{"index": 1, "score": top1["scores"][0][1]}]]


# ---------------------------------------------------------------- rejections


def _err(r, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code, body
    return body["message"]


def test_empty_batch_is_rejected(client):
    assert "texts is empty" in _err(client.post("/embed", json={"texts": []}), 422, "empty_input")


def test_blank_text_is_rejected_with_its_index(client):
    msg = _err(client.post("/embed", json={"texts": ["fine", "   "]}), 422, "empty_text")
    assert msg == "texts[1] is empty or only whitespace"


@pytest.mark.parametrize("item, kind", [(3, "number"), (None, "null"), ({"t": "x"}, "object"), (["x"], "array"), (True, "boolean")])
def test_non_text_items_are_rejected_naming_index_and_type(client, item, kind):
    msg = _err(client.post("/embed", json={"texts": ["ok", item]}), 422, "not_text")
    assert msg == f"texts[1] must be a string, got {kind}"


def test_lone_surrogate_is_rejected_not_a_500(client):
    r = client.post("/embed", content=b'{"texts": ["fine", "broken \\ud800 text"]}')
    assert _err(r, 422, "invalid_text") == "texts[1] is not valid Unicode (a lone surrogate escape)"


def test_oversized_batch_is_rejected_naming_the_limit(client, settings):
    n = settings.max_batch + 1
    msg = _err(client.post("/embed", json={"texts": ["t"] * n}), 413, "batch_too_large")
    assert f"has {n} texts; the limit is {settings.max_batch} (FACTS_WORKER_MAX_BATCH)" in msg


def test_over_long_text_is_rejected_naming_the_limit(client, settings):
    r = client.post("/embed", json={"texts": ["ok", "y" * (settings.max_text_chars + 1)]})
    msg = _err(r, 413, "text_too_long")
    assert msg.startswith("texts[1] has") and "FACTS_WORKER_MAX_TEXT_CHARS" in msg
    assert r.json()["index"] == 1


def test_oversized_body_is_rejected_before_parsing(client, settings):
    body = json.dumps({"texts": ["z" * 1000] * 300})
    assert len(body) > settings.max_body_bytes
    assert "FACTS_WORKER_MAX_BODY_BYTES" in _err(client.post("/embed", content=body), 413, "body_too_large")


def test_chunked_oversized_body_is_rejected(client, settings):
    def chunks():
        yield b'{"texts": ["'
        for _ in range(settings.max_body_bytes // 1000 + 2):
            yield b"z" * 1000
        yield b'"]}'

    _err(client.post("/embed", content=chunks()), 413, "body_too_large")


@pytest.mark.parametrize(
    "body, status, code, fragment",
    [
        (b"not json", 400, "invalid_json", "not valid JSON"),
        (b"[1, 2]", 422, "invalid_request", "must be a JSON object, got array"),
        (b'{"text": ["a"]}', 422, "invalid_request", "unknown field(s) text"),
        (b'{"texts": "a"}', 422, "invalid_request", "texts must be an array of strings, got string"),
        (b"{}", 422, "invalid_request", "texts is required"),
    ],
)
def test_malformed_requests_get_a_clear_reason(client, body, status, code, fragment):
    assert fragment in _err(client.post("/embed", content=body), status, code)


def test_similar_validates_both_lists_and_its_options(client, settings):
    assert "candidates is empty" in _err(client.post("/similar", json={"queries": ["a"], "candidates": []}), 422, "empty_input")
    assert _err(client.post("/similar", json={"queries": ["a", 1], "candidates": ["b"]}), 422, "not_text") == \
        "queries[1] must be a string, got number"
    half = settings.max_batch // 2 + 1
    assert "queries + candidates" in _err(
        client.post("/similar", json={"queries": ["a"] * half, "candidates": ["b"] * half}), 413, "batch_too_large")
    assert "top_k" in _err(client.post("/similar", json={"queries": ["a"], "candidates": ["b"], "top_k": 0}), 422, "invalid_request")
    assert "threshold" in _err(
        client.post("/similar", json={"queries": ["a"], "candidates": ["b"], "threshold": 2}), 422, "invalid_request")


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus exposition (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))  # the client writes labels sorted
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == (f"{name}{{{want}}}" if want else name):
            return float(value)
    return 0.0


def test_metrics_count_requests_by_route_and_model_calls(client):
    before = client.get("/metrics").text
    assert client.post("/embed", json={"texts": [CLAIM, UNRELATED]}).status_code == 200
    assert client.post("/embed", json={"texts": []}).status_code == 422
    assert client.get("/no/such/path/1234").status_code == 404
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = r.text

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    ok = {"http_request_method": "POST", "http_response_status_code": "200", "http_route": "/embed"}
    assert grew("http_server_request_duration_seconds_count", **ok) == 1
    assert grew("http_server_request_duration_seconds_count", **{**ok, "http_response_status_code": "422"}) == 1
    # An unknown path is counted under "other", never under its own (unbounded) label.
    assert grew("http_server_request_duration_seconds_count", http_request_method="GET", http_route="other", http_response_status_code="404") == 1
    assert "/no/such/path" not in after
    assert grew("facts_worker_texts_total") == 2
    assert grew("facts_worker_model_call_duration_seconds_count") == 1
    assert _sample(after, "facts_worker_ready") == 1
    assert _sample(after, "facts_worker_queue_depth") == 0
