#!/usr/bin/env bash
# Python vs Rust embeddings on this machine (see README.md). Builds the Rust binary if
# needed (nice'd: the machine is shared), then prints JSON lines {case, metric, value, unit}.
# Needs cargo and the facts-worker venv (npm run services:up creates it). Not part of
# `npm run bench` or CI: the first build takes minutes.
#
# Env: BENCH_THREADS (2; intra-op threads for all three cases), BENCH_CALLS_1/16/64
# (200/40/12 calls per case), BENCH_SCENARIOS_DIR (infra/demo/scenarios),
# BENCH_SHARED_WORKER_URL (http://127.0.0.1:8010, also checked for equal vectors; "" skips),
# ORT_DYLIB_PATH (default: the libonnxruntime.so inside the venv's onnxruntime wheel).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
export GSWARM_HOME=${GSWARM_HOME:-/var/lib/governed-swarm}
py=$GSWARM_HOME/venv/facts-worker/bin/python
[[ -x $py ]] || { echo "no facts-worker venv at $py: run npm run services:up" >&2; exit 1; }
command -v cargo >/dev/null || { echo "cargo not found (https://rustup.rs)" >&2; exit 1; }

(cd "$here" && nice -n 19 cargo build --release --locked --quiet)

dylib=${ORT_DYLIB_PATH:-$("$py" -c 'import glob, onnxruntime, os; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*")))[-1])')}
PYTHONPATH="$repo/facts-worker" exec "$py" "$here/bench.py" "$here/target/release/rust-embeddings" "$dylib"
