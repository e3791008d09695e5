"""Configuration: defaults, and a clear message naming the variable for bad values."""

from __future__ import annotations

import pytest

from facts_worker.settings import Settings, SettingsError


def test_defaults():
    s = Settings.from_env({"GSWARM_HOME": "/srv/gs"})
    assert (s.backend, s.embedding_dim, s.port, s.max_batch, s.max_text_chars) == ("local", 384, 8010, 256, 8192)
    assert str(s.cache_dir) == "/srv/gs/cache/facts-worker"


def test_openai_backend_settings():
    s = Settings.from_env({"EMBEDDINGS_BACKEND": "openai", "EMBEDDINGS_BASE_URL": "http://127.0.0.1:11434/v1/",
                           "EMBEDDINGS_MODEL": "nomic-embed-text", "EMBEDDINGS_API_KEY": "k", "EMBEDDING_DIM": "768"})
    assert (s.backend, s.base_url, s.model, s.api_key, s.embedding_dim) == (
        "openai", "http://127.0.0.1:11434/v1", "nomic-embed-text", "k", 768)


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"EMBEDDINGS_BACKEND": "torch"}, "EMBEDDINGS_BACKEND: expected local or openai"),
        ({"EMBEDDINGS_BACKEND": "openai", "EMBEDDINGS_MODEL": "m"}, "EMBEDDINGS_BASE_URL:"),
        ({"EMBEDDINGS_BACKEND": "openai", "EMBEDDINGS_BASE_URL": "http://x/v1"}, "EMBEDDINGS_MODEL:"),
        ({"EMBEDDING_DIM": "0"}, "EMBEDDING_DIM: must be between 1 and 16000, got 0"),
        ({"FACTS_WORKER_MAX_BATCH": "many"}, "FACTS_WORKER_MAX_BATCH: expected an integer"),
        ({"EMBEDDINGS_SEND_DIMENSIONS": "maybe"}, "EMBEDDINGS_SEND_DIMENSIONS: expected true/false"),
        ({"EMBEDDINGS_MODEL_DIR": "/nonexistent"}, "EMBEDDINGS_MODEL_DIR: /nonexistent has no config.json"),
    ],
)
def test_bad_values_name_the_variable(env, fragment):
    with pytest.raises(SettingsError) as e:
        Settings.from_env(env)
    assert fragment in str(e.value)
