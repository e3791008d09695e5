#!/usr/bin/env bash
# The facts-worker as a local service (called by infra/services/services.sh).
#
#   service.sh up       create/sync the virtualenv if the lock changed, start, wait for /readyz
#   service.sh down     SIGTERM, wait for in-flight requests and exit (then SIGKILL after a bound)
#   service.sh status   one line; exit 0 when running and ready
#   service.sh venv     only create/sync the virtualenv (tests use it); prints its path
#
# Env: GSWARM_HOME, FACTS_WORKER_PORT (8010), FACTS_WORKER_HOST (127.0.0.1),
# FACTS_WORKER_PYTHON (python3, >= 3.11), FACTS_WORKER_START_TIMEOUT (120 s),
# FACTS_WORKER_STOP_TIMEOUT (40 s), plus everything the worker reads (see README).
# The venv lives in $GSWARM_HOME/venv/facts-worker and is rebuilt only when
# requirements*.txt change (sha256 stamp), so a second `up` costs milliseconds.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -n "${GSWARM_HOME:-}" ]]; then HOME_DIR=$GSWARM_HOME
elif [[ $(id -u) == 0 ]]; then HOME_DIR=/var/lib/governed-swarm
else HOME_DIR=${HOME}/.local/share/governed-swarm; fi
export GSWARM_HOME=$HOME_DIR
PORT=${FACTS_WORKER_PORT:-8010}
HOST=${FACTS_WORKER_HOST:-127.0.0.1}
PYTHON=${FACTS_WORKER_PYTHON:-python3}
VENV=$HOME_DIR/venv/facts-worker
RUN=$HOME_DIR/run LOGS=$HOME_DIR/logs
PIDFILE=$RUN/facts-worker.pid LOG=$LOGS/facts-worker.log
STAMP=$VENV/.requirements.sha256

log() { printf '[facts-worker] %s\n' "$*" >&2; }
die() { printf '[facts-worker] ERROR: %s\n' "$*" >&2; exit 1; }

pid_alive() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

# GET a path with bash's /dev/tcp (no curl needed); prints the status code, then the body.
http_get() {
  (
    exec 3<>"/dev/tcp/$HOST/$PORT" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" "$HOST" >&3
    resp=$(timeout 5 cat <&3) || exit 1
    code=${resp#HTTP/* }; code=${code%% *}
    printf '%s\n%s\n' "$code" "${resp#*$'\r\n\r\n'}"
  ) 2>/dev/null
}

ensure_venv() {
  mkdir -p "$LOGS"
  local want
  want=$(cat "$HERE/requirements.txt" "$HERE/requirements-dev.txt" | sha256sum | cut -d' ' -f1)
  # -e follows the interpreter symlink: a removed base Python also triggers a rebuild.
  if [[ -e $VENV/bin/python && -f $STAMP && $(cat "$STAMP") == "$want" ]]; then return 0; fi
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python >= 3.11 or set FACTS_WORKER_PYTHON"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$PYTHON is $("$PYTHON" -V 2>&1); the facts-worker needs Python >= 3.11 (set FACTS_WORKER_PYTHON)"
  local t0=$SECONDS
  if pid_alive; then
    log "requirements changed: stopping the running worker before rebuilding its virtualenv"
    stop
  fi
  log "creating the virtualenv $VENV from the hashed lock (first run or requirements changed)"
  # --clear: a changed lock gives a venv with exactly the locked packages, nothing stale.
  "$PYTHON" -m venv --clear "$VENV" >>"$LOGS/facts-worker-install.log" 2>&1 || die "python -m venv failed; see $LOGS/facts-worker-install.log"
  # --no-deps: the lock is the complete closure (minus two deliberately excluded packages, see excludes.txt).
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes --only-binary :all: \
    -r "$HERE/requirements.txt" -r "$HERE/requirements-dev.txt" >>"$LOGS/facts-worker-install.log" 2>&1 ||
    die "pip install from the lock failed; see $LOGS/facts-worker-install.log"
  echo "$want" >"$STAMP"
  log "virtualenv ready in $((SECONDS - t0)) s"
}

# Wait until /readyz says ready; fail fast (with the worker's reason) if it dies or reports failed.
wait_ready() {
  local limit=${FACTS_WORKER_START_TIMEOUT:-120} i out code
  for ((i = 0; i < limit * 10; i++)); do
    if ! pid_alive; then
      tail -n 20 "$LOG" >&2 || true
      die "the worker exited during start; see $LOG"
    fi
    if out=$(http_get /readyz); then
      code=${out%%$'\n'*}
      [[ $code == 200 ]] && return 0
      if [[ $out == *'"status":"failed"'* ]]; then
        local reason=${out#*\"error\":\"}; reason=${reason%%\"\}*}
        stop
        die "not ready: $reason"
      fi
    fi
    sleep 0.1
  done
  stop
  die "not ready within $limit s; see $LOG"
}

start() {
  if pid_alive; then
    wait_ready
    return 0
  fi
  port_open && die "port $HOST:$PORT is already taken by another process (set FACTS_WORKER_PORT)"
  mkdir -p "$RUN" "$LOGS"
  log "starting on http://$HOST:$PORT (log: $LOG)"
  (
    cd "$HERE"
    export PYTHONPATH=$HERE HF_HUB_OFFLINE=1 FACTS_WORKER_PORT=$PORT FACTS_WORKER_HOST=$HOST
    # exec: the pid written below is the worker itself, so SIGTERM reaches uvicorn.
    # 9>&-: the worker must not inherit (and so hold forever) the service.sh lock.
    setsid nohup "$VENV/bin/python" -m facts_worker >>"$LOG" 2>&1 </dev/null 9>&- &
    echo $! >"$PIDFILE"
  )
  local t0=$SECONDS
  wait_ready
  log "ready in $((SECONDS - t0)) s"
}

stop() {
  [[ -f $PIDFILE ]] || return 0
  local pid i limit=${FACTS_WORKER_STOP_TIMEOUT:-40}
  pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    # uvicorn drains in-flight requests (FACTS_WORKER_GRACEFUL_TIMEOUT_S, 30 s) before it exits.
    for ((i = 0; i < limit * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "still running after $limit s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PIDFILE"
}

# Two concurrent `up`s (parallel test runs) must not build one venv twice or start two workers.
lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/facts-worker.lock"
  command -v flock >/dev/null && { flock -w 600 9 || die "another service.sh holds $RUN/facts-worker.lock"; }
  return 0
}

case ${1:-status} in
  up) lock; ensure_venv; start ;;
  down) lock; stop ;;
  status)
    if pid_alive && out=$(http_get /readyz) && [[ ${out%%$'\n'*} == 200 ]]; then echo "facts-worker up (ready) on $HOST:$PORT"
    elif pid_alive; then echo "facts-worker up (not ready) on $HOST:$PORT"; exit 1
    else echo "facts-worker down"; exit 1; fi
    ;;
  venv) lock; ensure_venv; echo "$VENV" ;;
  *) die "usage: service.sh up|down|status|venv" ;;
esac
