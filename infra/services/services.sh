#!/usr/bin/env bash
# Local services without Docker: PostgreSQL 15 + pgvector, NATS JetStream, MinIO,
# OpenFGA, the Postgres WebSocket proxy, the Python facts-worker and Prometheus.
#
#   services.sh up [name...]      install what is missing, start what is stopped (idempotent)
#   services.sh down [name...]    stop
#   services.sh status            one line per service
#
# Binaries and data live outside the repository, in $GSWARM_HOME
# (default /var/lib/governed-swarm as root, ~/.local/share/governed-swarm otherwise),
# so a second `up` costs seconds. Generated settings (OpenFGA store id, the
# certificate signing key) go to $GSWARM_HOME/services.env, which the config module reads.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ -n "${GSWARM_HOME:-}" ]]; then HOME_DIR=$GSWARM_HOME
elif [[ $(id -u) == 0 ]]; then HOME_DIR=/var/lib/governed-swarm
else HOME_DIR=${HOME}/.local/share/governed-swarm; fi
BIN=$HOME_DIR/bin DATA=$HOME_DIR/data LOGS=$HOME_DIR/logs RUN=$HOME_DIR/run BUILD=$HOME_DIR/build
NATS_CREDS=$HOME_DIR/nats-creds

PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_PORT=${GSWARM_PG_PORT:-5433}
WSPROXY_PORT=${GSWARM_WSPROXY_PORT:-5480}
NATS_PORT=${GSWARM_NATS_PORT:-4222}
NATS_HTTP_PORT=${GSWARM_NATS_HTTP_PORT:-8222}
MINIO_PORT=${GSWARM_MINIO_PORT:-9000}
MINIO_CONSOLE_PORT=${GSWARM_MINIO_CONSOLE_PORT:-9001}
OPENFGA_HTTP_PORT=${GSWARM_OPENFGA_HTTP_PORT:-8080}
OPENFGA_GRPC_PORT=${GSWARM_OPENFGA_GRPC_PORT:-8081}
FACTS_WORKER_PORT=${GSWARM_FACTS_WORKER_PORT:-8010}
PROMETHEUS_PORT=${GSWARM_PROMETHEUS_PORT:-9090}

# Pinned versions: what `go install` builds through the Go module proxy.
NATS_MODULE=github.com/nats-io/nats-server/v2@v2.12.3
MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
OPENFGA_MODULE=github.com/openfga/openfga/cmd/openfga@v1.22.1
PGVECTOR_SOURCE=pgvector # Debian source package, taken from trixie
PGVECTOR_SUITE=trixie

S3_ACCESS_KEY=${S3_ACCESS_KEY:-swarm}
S3_SECRET_KEY=${S3_SECRET_KEY:-swarm-secret}
OPENFGA_DB_PASSWORD=openfga

ALL=(postgres wsproxy nats minio openfga facts-worker prometheus)

log() { printf '%s %s\n' "[services]" "$*" >&2; }
die() { printf '%s ERROR: %s\n' "[services]" "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # name port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do port_open "$2" && return 0; sleep 0.1; done
  die "$1 did not open port $2 within $3 s; see $LOGS/$1.log"
}
pid_alive() { [[ -f $RUN/$1.pid ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi; }

start_bg() { # name cmd... ; detached, survives this shell, logs to $LOGS/name.log
  local name=$1; shift
  setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}
stop_pid() {
  local name=$1 pid i
  [[ -f $RUN/$name.pid ]] || return 0
  pid=$(cat "$RUN/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.pid"
}

apt_install() {
  command -v apt-get >/dev/null || die "missing $*; this script installs Debian packages with apt-get"
  log "installing Debian packages: $*"
  as_root apt-get install -y --no-install-recommends "$@" >>"$LOGS/apt.log" 2>&1 ||
    { as_root apt-get update >>"$LOGS/apt.log" 2>&1 && as_root apt-get install -y --no-install-recommends "$@" >>"$LOGS/apt.log" 2>&1; } ||
    die "apt-get install $* failed; see $LOGS/apt.log"
}

go_install() { # binary module@version
  [[ -x $BIN/$1 ]] && return 0
  command -v go >/dev/null || die "$1 is missing and Go is not installed: install Go >= 1.24 (https://go.dev/dl) or put a $1 binary in $BIN"
  log "building $2 with go install (first run only; cached in $BIN)"
  GOBIN=$BIN GOFLAGS=-trimpath go install "$2" >>"$LOGS/go-install.log" 2>&1 ||
    die "go install $2 failed; see $LOGS/go-install.log"
}

# ---------------------------------------------------------------- PostgreSQL
pg_psql() { as_pg "$PG_BIN/psql" -X -q -h "$RUN/pg" -p "$PG_PORT" -v ON_ERROR_STOP=1 "$@"; }
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

install_pgvector() {
  [[ -f /usr/share/postgresql/$PG_MAJOR/extension/vector.control ]] && return 0
  [[ -x $PG_BIN/pg_config || -x /usr/bin/pg_config ]] && dpkg -s "postgresql-server-dev-$PG_MAJOR" >/dev/null 2>&1 ||
    apt_install "postgresql-server-dev-$PG_MAJOR" make gcc
  local src=$BUILD/pgvector
  if ! ls "$src"/pgvector-*/Makefile >/dev/null 2>&1; then
    # Bookworm has no pgvector package: build the newer release's source package.
    # A private sources list and lists folder leave the system's apt setup untouched.
    log "fetching the pgvector source package from Debian $PGVECTOR_SUITE"
    local apt=$BUILD/apt
    mkdir -p "$apt/lists/partial" "$src"
    echo "deb-src http://deb.debian.org/debian $PGVECTOR_SUITE main" >"$apt/sources.list"
    local aopts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$apt/lists")
    apt-get "${aopts[@]}" update >>"$LOGS/pgvector.log" 2>&1 || die "apt-get update of $PGVECTOR_SUITE sources failed; see $LOGS/pgvector.log"
    (cd "$src" && apt-get "${aopts[@]}" source --download-only "$PGVECTOR_SOURCE" >>"$LOGS/pgvector.log" 2>&1) ||
      die "could not download the pgvector source package; see $LOGS/pgvector.log"
    (cd "$src" && tar xzf pgvector_*.orig.tar.gz)
  fi
  local dir
  dir=$(ls -d "$src"/pgvector-*/ | head -n1)
  log "building pgvector in $dir"
  # OPTFLAGS="" keeps the build portable (no -march=native).
  make -C "$dir" PG_CONFIG="$PG_BIN/pg_config" OPTFLAGS="" -j2 >>"$LOGS/pgvector.log" 2>&1 || die "pgvector build failed; see $LOGS/pgvector.log"
  as_root make -C "$dir" PG_CONFIG="$PG_BIN/pg_config" OPTFLAGS="" install >>"$LOGS/pgvector.log" 2>&1 || die "pgvector install failed; see $LOGS/pgvector.log"
}

up_postgres() {
  [[ -x $PG_BIN/postgres ]] || apt_install "postgresql-$PG_MAJOR"
  install_pgvector
  local pgdata=$DATA/pg
  mkdir -p "$RUN/pg" "$pgdata"
  [[ $(id -u) == 0 ]] && chown postgres:postgres "$RUN/pg" "$pgdata" && chmod 700 "$pgdata"
  if [[ ! -f $pgdata/PG_VERSION ]]; then
    log "initialising a PostgreSQL $PG_MAJOR cluster in $pgdata"
    as_pg "$PG_BIN/initdb" -D "$pgdata" -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >>"$LOGS/postgres-init.log" 2>&1 ||
      die "initdb failed; see $LOGS/postgres-init.log"
    cat >>"$pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$RUN/pg'
max_connections = 300
shared_buffers = 256MB
logging_collector = off
EOF
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    log "starting postgres on 127.0.0.1:$PG_PORT"
    touch "$LOGS/postgres.log"; [[ $(id -u) == 0 ]] && chown postgres "$LOGS/postgres.log"
    as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -l "$LOGS/postgres.log" -w -t 60 start >/dev/null || die "postgres did not start; see $LOGS/postgres.log"
  fi
  # Roles and databases (each statement is a no-op when already there).
  pg_psql -d postgres <<'SQL'
SELECT 'CREATE ROLE swarm LOGIN CREATEDB PASSWORD ''swarm''' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'swarm')\gexec
SELECT 'CREATE DATABASE swarm OWNER swarm' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'swarm')\gexec
SELECT 'CREATE ROLE openfga LOGIN PASSWORD ''openfga''' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'openfga')\gexec
SELECT 'CREATE DATABASE openfga OWNER openfga' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'openfga')\gexec
SQL
  # pgvector is not a trusted extension: the superuser creates it in template1 (so
  # every test database has it) and in swarm.
  for db in template1 swarm; do pg_psql -d "$db" -c 'CREATE EXTENSION IF NOT EXISTS vector' 2>/dev/null ||
    pg_psql -d "$db" -c 'CREATE EXTENSION IF NOT EXISTS vector'; done
}
down_postgres() {
  [[ -f $DATA/pg/PG_VERSION ]] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$DATA/pg" status >/dev/null 2>&1 && as_pg "$PG_BIN/pg_ctl" -D "$DATA/pg" -m fast -w stop >/dev/null
  return 0
}
status_postgres() { as_pg "$PG_BIN/pg_ctl" -D "$DATA/pg" status >/dev/null 2>&1 && port_open "$PG_PORT"; }

# ------------------------------------------------------- WebSocket proxy (Neon)
up_wsproxy() {
  pid_alive wsproxy && port_open "$WSPROXY_PORT" && return 0
  [[ -x $ROOT/node_modules/.bin/tsx ]] || die "node_modules missing: run npm ci first"
  log "starting the Postgres WebSocket proxy on 127.0.0.1:$WSPROXY_PORT"
  WSPROXY_PORT=$WSPROXY_PORT WSPROXY_ALLOW="127.0.0.1:$PG_PORT,localhost:$PG_PORT" \
    start_bg wsproxy node --import tsx "$ROOT/infra/wsproxy/main.ts"
  wait_port wsproxy "$WSPROXY_PORT" 20
}
status_wsproxy() { pid_alive wsproxy && port_open "$WSPROXY_PORT"; }

# ---------------------------------------------------------------- NATS
# A service's data directory: owner only (the JetStream store holds every message,
# MinIO every artifact). Made so, and existing ones fixed, on every `up`; chmod needs
# no restart of a running service.
private_dir() { (umask 077 && mkdir -p "$1") && chmod 700 "$1"; }

up_nats() {
  go_install nats-server "$NATS_MODULE"
  private_dir "$DATA/nats"
  # Credentials (one nkey per identity) and the authorization generated from the message
  # catalogue: a connection without credentials is refused, and each identity may publish
  # only what infra/nats/permissions.ts allows it.
  local auth_changed conf
  auth_changed=$(node --import tsx "$ROOT/infra/nats/credentials.ts" "$NATS_CREDS" "$DATA/nats/auth.conf") ||
    die "generating the NATS credentials failed"
  conf="listen: 127.0.0.1:$NATS_PORT
http: 127.0.0.1:$NATS_HTTP_PORT
# Envelopes are capped well below this by the bridge; oversize ones must still
# reach it to be rejected with a reason instead of failing at publish.
max_payload: 8MB
jetstream {
  store_dir: \"$DATA/nats\"
  max_memory_store: 512MB
  max_file_store: 8GB
}
include auth.conf"
  if [[ ! -f $DATA/nats/nats.conf || $(cat "$DATA/nats/nats.conf") != "$conf" ]]; then
    printf '%s\n' "$conf" >"$DATA/nats/nats.conf"
    auth_changed=changed
  fi
  if pid_alive nats && port_open "$NATS_PORT"; then
    if [[ $auth_changed == changed ]]; then
      # nats-server reloads its configuration, authorization included, on SIGHUP.
      log "nats-server: configuration changed, reloading"
      kill -HUP "$(cat "$RUN/nats.pid")"
      sleep 0.5
    fi
    return 0
  fi
  log "starting nats-server (JetStream) on 127.0.0.1:$NATS_PORT"
  (umask 077 && start_bg nats "$BIN/nats-server" -c "$DATA/nats/nats.conf")
  wait_port nats "$NATS_PORT" 20
}
status_nats() { pid_alive nats && port_open "$NATS_PORT"; }

# ---------------------------------------------------------------- MinIO
up_minio() {
  go_install minio "$MINIO_MODULE"
  private_dir "$DATA/minio"
  pid_alive minio && port_open "$MINIO_PORT" && return 0
  log "starting MinIO on 127.0.0.1:$MINIO_PORT"
  (umask 077 && MINIO_ROOT_USER=$S3_ACCESS_KEY MINIO_ROOT_PASSWORD=$S3_SECRET_KEY MINIO_BROWSER=off MINIO_UPDATE=off \
    start_bg minio "$BIN/minio" server "$DATA/minio" --quiet --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT")
  wait_port minio "$MINIO_PORT" 60
}
status_minio() { pid_alive minio && port_open "$MINIO_PORT"; }

# ---------------------------------------------------------------- OpenFGA
openfga_key() { # the preshared key clients send as a bearer token; made once
  [[ -s $HOME_DIR/openfga.key ]] || (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$HOME_DIR/openfga.key")
  cat "$HOME_DIR/openfga.key"
}
up_openfga() {
  go_install openfga "$OPENFGA_MODULE"
  if pid_alive openfga && port_open "$OPENFGA_HTTP_PORT"; then
    # Started before it required its key: restart it with the key.
    grep -qa -- '--authn-method' "/proc/$(cat "$RUN/openfga.pid")/cmdline" && return 0
    log "OpenFGA runs without its preshared key: restarting it"
    stop_pid openfga
  fi
  local uri="postgres://openfga:$OPENFGA_DB_PASSWORD@127.0.0.1:$PG_PORT/openfga?sslmode=disable"
  "$BIN/openfga" migrate --datastore-engine postgres --datastore-uri "$uri" >>"$LOGS/openfga.log" 2>&1 ||
    die "openfga migrate failed; see $LOGS/openfga.log"
  log "starting OpenFGA on 127.0.0.1:$OPENFGA_HTTP_PORT (Postgres datastore, preshared key)"
  start_bg openfga "$BIN/openfga" run --datastore-engine postgres --datastore-uri "$uri" \
    --http-addr "127.0.0.1:$OPENFGA_HTTP_PORT" --grpc-addr "127.0.0.1:$OPENFGA_GRPC_PORT" \
    --authn-method preshared --authn-preshared-keys "$(openfga_key)" \
    --playground-enabled=false --metrics-enabled=false --log-level warn
  wait_port openfga "$OPENFGA_HTTP_PORT" 30
}
status_openfga() { pid_alive openfga && port_open "$OPENFGA_HTTP_PORT"; }

# ---------------------------------------------------------------- facts-worker
up_facts-worker() {
  [[ -f $ROOT/facts-worker/service.sh ]] || { log "facts-worker: not present yet, skipped"; return 0; }
  FACTS_WORKER_PORT=$FACTS_WORKER_PORT GSWARM_HOME=$HOME_DIR bash "$ROOT/facts-worker/service.sh" up
}
down_facts-worker() { [[ -f $ROOT/facts-worker/service.sh ]] && GSWARM_HOME=$HOME_DIR bash "$ROOT/facts-worker/service.sh" down || true; }
status_facts-worker() { pid_alive facts-worker && port_open "$FACTS_WORKER_PORT"; }

# ---------------------------------------------------------------- Prometheus
# Debian's package (its own systemd unit is not used): scrapes whatever file_sd target
# files are in $DATA/prometheus/targets (a test writes one for the bridge it starts;
# {"targets": ["127.0.0.1:PORT"], "labels": {...}}), every second, and evaluates
# infra/prometheus/alerts.yml. Its configuration is regenerated on every `up`; a change
# is applied with SIGHUP, without a restart.
up_prometheus() {
  command -v prometheus >/dev/null || apt_install prometheus
  mkdir -p "$DATA/prometheus/targets" "$DATA/prometheus/tsdb"
  local conf
  conf="global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
  - $ROOT/infra/prometheus/alerts.yml
scrape_configs:
  - job_name: gswarm
    scrape_interval: 1s
    scrape_timeout: 1s
    file_sd_configs:
      - files: ['$DATA/prometheus/targets/*.json']
        refresh_interval: 1s"
  local changed=
  if [[ ! -f $DATA/prometheus/prometheus.yml || $(cat "$DATA/prometheus/prometheus.yml") != "$conf" ]]; then
    printf '%s\n' "$conf" >"$DATA/prometheus/prometheus.yml"
    changed=yes
  fi
  if pid_alive prometheus && port_open "$PROMETHEUS_PORT"; then
    [[ -n $changed ]] && { log "prometheus: configuration changed, reloading"; kill -HUP "$(cat "$RUN/prometheus.pid")"; }
    return 0
  fi
  log "starting Prometheus on 127.0.0.1:$PROMETHEUS_PORT"
  start_bg prometheus prometheus --config.file="$DATA/prometheus/prometheus.yml" --storage.tsdb.path="$DATA/prometheus/tsdb" \
    --storage.tsdb.retention.time=2d --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
  wait_port prometheus "$PROMETHEUS_PORT" 30
}
status_prometheus() { pid_alive prometheus && port_open "$PROMETHEUS_PORT"; }

down_generic() { stop_pid "$1"; }

# ---------------------------------------------------------------- tools
ensure_tools() {
  # Debian's docker-compose validates the compose files in tests without an engine.
  command -v docker-compose >/dev/null || { command -v apt-get >/dev/null && apt_install docker-compose; } ||
    log "docker-compose not installed: the compose validation test will fail"
  # Debian's chromium runs the console's browser tests (driven by playwright-core; no browser download).
  command -v chromium >/dev/null || { command -v apt-get >/dev/null && apt_install chromium; } ||
    log "chromium not installed: the console's browser tests will fail"
}

# ---------------------------------------------------------------- bootstrap
bootstrap() {
  # Bucket, OpenFGA store/model/tuples, signing key -> services.env. Idempotent.
  GSWARM_HOME=$HOME_DIR NATS_SERVER_BIN=$BIN/nats-server PG_BIN=$PG_BIN NATS_CREDS_DIR=$NATS_CREDS OPENFGA_API_TOKEN=$(openfga_key) \
    node --import tsx "$ROOT/infra/services/bootstrap.ts"
}

main() {
  local cmd=${1:-status}; shift || true
  local names=("$@"); [[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
  mkdir -p "$BIN" "$DATA" "$LOGS" "$RUN" "$BUILD"
  chmod 755 "$HOME_DIR"
  case $cmd in
    up)
      local t0=$SECONDS n
      for n in "${names[@]}"; do "up_$n"; done
      ensure_tools
      bootstrap
      log "all up in $((SECONDS - t0)) s (home: $HOME_DIR)"
      ;;
    down)
      local i
      for ((i = ${#names[@]} - 1; i >= 0; i--)); do
        n=${names[$i]}
        if declare -F "down_$n" >/dev/null; then "down_$n"; else down_generic "$n"; fi
      done
      log "stopped: ${names[*]}"
      ;;
    status)
      local rc=0
      for n in "${names[@]}"; do
        if "status_$n"; then printf '%-13s up\n' "$n"; else printf '%-13s down\n' "$n"; rc=1; fi
      done
      return $rc
      ;;
    env) cat "$HOME_DIR/services.env" 2>/dev/null ;;
    *) die "usage: services.sh up|down|status|env [service...]" ;;
  esac
}
main "$@"
