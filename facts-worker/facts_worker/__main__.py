"""python -m facts_worker [build]: serve the API with uvicorn (settings from the environment).

`build` only prepares and checks the local model (builds the cached ONNX graph) and
exits: the Dockerfile runs it so that containers start without building.
"""

from __future__ import annotations

import logging
import os
import sys

from .settings import Settings, SettingsError


def main() -> int:
    # The model is read from site-packages; never let a library reach for a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        print(f"facts-worker: invalid configuration: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if sys.argv[1:] == ["build"]:
        from .backends import LoadError, LocalOnnxBackend

        backend = LocalOnnxBackend(settings)
        try:
            backend.load()
        except LoadError as e:
            print(f"facts-worker: {e}", file=sys.stderr)
            return 1
        print(f"{backend.name}: {backend.dim} dims, graph {backend.onnx_path}")
        return 0
    if sys.argv[1:]:
        print("usage: python -m facts_worker [build]", file=sys.stderr)
        return 2

    import uvicorn

    from .app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # use the root logger set up above
        log_level=settings.log_level,
        access_log=settings.access_log,
        # SIGTERM: stop accepting, let in-flight requests finish (bounded), then shut down.
        timeout_graceful_shutdown=settings.graceful_timeout_s,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    server.run()
    # uvicorn returns normally after a signal; a failed startup (port taken) sets started=False.
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
