#!/usr/bin/env bash
# The production topology on this machine, without Docker: what
# docker-compose.yml describes, with processes instead of containers.
#
#   deploy/prod.sh up            build, start everything, wait until ready
#   deploy/prod.sh down          stop everything (SIGTERM, then SIGKILL after 30 s)
#   deploy/prod.sh start NAME    (re)start one process: temporal, worker-1, worker-2, api-1, api-2
#   deploy/prod.sh status        which processes run
#
# make prod-up and make prod-down call it. It runs, against the PostgreSQL
# this machine runs:
#   - lift-temporal: a Temporal server (the go.temporal.io/server version
#     Lift is built with) on PostgreSQL, persistence and visibility, its
#     schemas set up and upgraded by the server's own SQL schema tooling;
#     frontend 127.0.0.1:7233, Web UI http://localhost:8233
#   - lift migrate, once
#   - two lift worker processes (metrics on 127.0.0.1:9091 and :9092)
#   - two lift api processes on :8081 and :8082 (metrics on 127.0.0.1:9101, :9102)
#
# Settings (environment): LIFT_API_KEY (the bootstrap admin key of both
# APIs; generated into $PROD_DIR/api-key when unset), PROD_DIR (.prod),
# PROD_POSTGRES (postgres://postgres@127.0.0.1:5432/?sslmode=disable),
# PROD_DB (lift), PROD_TEMPORAL_DB (temporal), PROD_TEMPORAL_PORT (7233),
# PROD_UI_PORT (8233), PROD_API_PORTS ("8081 8082"), PROD_WORKER_METRICS
# ("9091 9092"), PROD_API_METRICS ("9101 9102"), PROD_BIN (a directory
# holding lift and lift-temporal already built). Any other LIFT_*,
# SENDGRID_* or OTEL_* variable passes through to the roles.
set -euo pipefail
cd "$(dirname "$0")/.."

export GOTOOLCHAIN=local CGO_ENABLED=0
PROD_DIR=${PROD_DIR:-.prod}
PROD_POSTGRES=${PROD_POSTGRES:-postgres://postgres@127.0.0.1:5432/?sslmode=disable}
PROD_DB=${PROD_DB:-lift}
PROD_TEMPORAL_DB=${PROD_TEMPORAL_DB:-temporal}
PROD_TEMPORAL_PORT=${PROD_TEMPORAL_PORT:-7233}
PROD_UI_PORT=${PROD_UI_PORT:-8233}
read -r -a API_PORTS <<<"${PROD_API_PORTS:-8081 8082}"
read -r -a WORKER_METRICS <<<"${PROD_WORKER_METRICS:-9091 9092}"
read -r -a API_METRICS <<<"${PROD_API_METRICS:-9101 9102}"
mkdir -p -m 700 "$PROD_DIR"
chmod 700 "$PROD_DIR" # it holds the generated secrets and the logs
BIN=${PROD_BIN:-$PROD_DIR/bin}

say() { echo "prod: $*"; }

# The app database's URL: the cluster's URL with the database's name.
db_url() {
  local base=${PROD_POSTGRES%%\?*} query=""
  [[ $PROD_POSTGRES == *\?* ]] && query="?${PROD_POSTGRES#*\?}"
  echo "${base%/}/$1$query"
}

secret() { # a value kept in $PROD_DIR across restarts
  local f="$PROD_DIR/$1"
  # Created private (umask 077 in the subshell): never readable, even
  # for the moment between writing and a chmod.
  [[ -s $f ]] || (umask 077 && printf '%s%s' "$2" "$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')" >"$f")
  cat "$f"
}

role_env() { # the environment every lift role gets
  local api_key=${LIFT_API_KEY:-$(secret api-key lift_prod_)}
  echo LIFT_DATABASE_URL="$(db_url "$PROD_DB")"
  echo TEMPORAL_ADDRESS="127.0.0.1:$PROD_TEMPORAL_PORT"
  echo TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
  echo LIFT_TEMPORAL_UI_URL="http://localhost:$PROD_UI_PORT"
  echo LIFT_API_KEY="$api_key"
  echo LIFT_UNSUBSCRIBE_SECRET="${LIFT_UNSUBSCRIBE_SECRET:-$(secret unsubscribe-secret '')}"
  echo LIFT_PUBLIC_URL="${LIFT_PUBLIC_URL:-http://localhost:${API_PORTS[0]}}"
  # Five processes share the machine's PostgreSQL (100 connections by default).
  echo LIFT_DATABASE_MAX_CONNS="${LIFT_DATABASE_MAX_CONNS:-8}"
  echo LIFT_DATABASE_MAX_IDLE="${LIFT_DATABASE_MAX_IDLE:-2}"
}

# running NAME: its pid is alive (not a zombie) and is still one of ours.
running() {
  local pid state
  [[ -s "$PROD_DIR/$1.pid" ]] || return 1
  pid=$(cat "$PROD_DIR/$1.pid")
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]] || return 1
  # (prod.sh: the subshell that is about to exec it)
  grep -q -e "lift" -e "prod.sh" < <(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
}

# spawn NAME [VAR=value ...] CMD...: start CMD in its own session with the
# roles' environment (exported, never on a command line, where ps would
# show the secrets), log and pid in PROD_DIR.
spawn() {
  local name=$1
  shift
  (
    while IFS= read -r kv; do export "${kv?}"; done < <(role_env)
    while [[ $1 == *=* ]]; do export "${1?}"; shift; done
    exec 9>&- # the lock stays with this script, not with the process
    exec setsid "$@" >>"$PROD_DIR/$name.log" 2>&1 </dev/null
  ) &
  echo $! >"$PROD_DIR/$name.pid"
}

# wait_for NAME SECONDS CMD...: until CMD succeeds; fails at once when the
# process exits, and after SECONDS.
wait_for() {
  local name=$1 secs=$2
  shift 2
  for _ in $(seq 1 "$((secs * 4))"); do
    "$@" >/dev/null 2>&1 && return 0
    if ! running "$name"; then
      say "$name exited; the end of $PROD_DIR/$name.log:" >&2
      tail -5 "$PROD_DIR/$name.log" >&2
      return 1
    fi
    sleep 0.25
  done
  say "$name did not come up in ${secs}s; see $PROD_DIR/$name.log" >&2
  return 1
}

logged_since() { grep -q "$3" < <(tail -n "+$(($2 + 1))" "$1"); }

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  local name=$1 i
  if running "$name"; then # a restart: let the old one drain first
    kill -TERM "$(cat "$PROD_DIR/$name.pid")" 2>/dev/null || true
    for _ in $(seq 1 120); do running "$name" || break; sleep 0.25; done
    if running "$name"; then kill -KILL "$(cat "$PROD_DIR/$name.pid")" 2>/dev/null || true; sleep 0.5; fi
  fi
  case $name in
  temporal)
    local from=0
    [[ -f $PROD_DIR/temporal.log ]] && from=$(wc -l <"$PROD_DIR/temporal.log")
    spawn temporal LIFT_TEMPORAL_POSTGRES_URL="$PROD_POSTGRES" "$BIN/lift-temporal" --db "$PROD_TEMPORAL_DB" \
      --port "$PROD_TEMPORAL_PORT" --ui-port "$PROD_UI_PORT" --namespace "${TEMPORAL_NAMESPACE:-default}" \
      --max-conns "${PROD_TEMPORAL_MAX_CONNS:-5}"
    wait_for temporal 120 logged_since "$PROD_DIR/temporal.log" "$from" "lift-temporal: ready"
    ;;
  worker-*)
    i=$((${name#worker-} - 1))
    spawn "$name" LIFT_METRICS_ADDR="127.0.0.1:${WORKER_METRICS[$i]}" "$BIN/lift" worker
    wait_for "$name" 60 tcp_open "${WORKER_METRICS[$i]}"
    ;;
  api-*)
    i=$((${name#api-} - 1))
    spawn "$name" LIFT_HTTP=":${API_PORTS[$i]}" LIFT_METRICS_ADDR="127.0.0.1:${API_METRICS[$i]}" "$BIN/lift" api
    wait_for "$name" 60 curl -fsS "http://127.0.0.1:${API_PORTS[$i]}/readyz"
    ;;
  *)
    say "unknown process $name" >&2
    return 2
    ;;
  esac
}

up() {
  if [[ -z ${PROD_BIN:-} ]]; then
    say "building bin: lift, lift-temporal"
    mkdir -p "$BIN"
    go build -trimpath -o "$BIN/lift" ./cmd/lift
    go build -trimpath -o "$BIN/lift-temporal" ./cmd/lift-temporal
  fi
  pg_isready -d "$(db_url postgres)" -q || { say "PostgreSQL is not reachable at $PROD_POSTGRES" >&2; exit 1; }
  if ! psql "$(db_url postgres)" -tAc "SELECT 1 FROM pg_database WHERE datname = '$PROD_DB'" | grep -q 1; then
    psql "$(db_url postgres)" -qc "CREATE DATABASE \"$PROD_DB\""
  fi
  running temporal || start temporal
  say "lift migrate"
  (
    while IFS= read -r kv; do export "${kv?}"; done < <(role_env)
    exec 9>&-
    exec "$BIN/lift" migrate
  ) >>"$PROD_DIR/migrate.log" 2>&1 || { tail -20 "$PROD_DIR/migrate.log" >&2; exit 1; }
  for name in worker-1 worker-2 api-1 api-2; do
    running "$name" || start "$name"
  done
  local key='$LIFT_API_KEY'
  [[ -n ${LIFT_API_KEY:-} ]] || key="the one in $PROD_DIR/api-key"
  cat <<EOF
prod: up. Logs and pids in $PROD_DIR/
  API          http://localhost:${API_PORTS[0]}  http://localhost:${API_PORTS[1]}   (bootstrap admin key: $key)
  Temporal     127.0.0.1:$PROD_TEMPORAL_PORT (namespace ${TEMPORAL_NAMESPACE:-default}, on PostgreSQL: $PROD_TEMPORAL_DB, ${PROD_TEMPORAL_DB}_visibility)
  Temporal UI  http://localhost:$PROD_UI_PORT
  metrics      workers http://127.0.0.1:${WORKER_METRICS[0]}/metrics http://127.0.0.1:${WORKER_METRICS[1]}/metrics
               APIs    http://127.0.0.1:${API_METRICS[0]}/metrics http://127.0.0.1:${API_METRICS[1]}/metrics
  stop with    make prod-down
EOF
}

# wait_gone NAME...: up to 30 s for the processes to exit.
wait_gone() {
  local left p
  for _ in $(seq 1 120); do
    left=0
    for p in "$@"; do running "$p" && left=1; done
    ((left)) || return 0
    sleep 0.25
  done
}

down() {
  local name pids=()
  # The roles first (they drain), then Temporal.
  for name in api-1 api-2 worker-1 worker-2 temporal; do
    if running "$name"; then
      kill -TERM "$(cat "$PROD_DIR/$name.pid")" 2>/dev/null || true
      pids+=("$name")
    fi
    # Temporal goes last, once the roles are gone.
    if [[ $name == worker-2 ]]; then wait_gone "${pids[@]}"; fi
  done
  wait_gone "${pids[@]}"
  for p in "${pids[@]}"; do running "$p" && kill -KILL "$(cat "$PROD_DIR/$p.pid")" 2>/dev/null || true; done
  rm -f "$PROD_DIR"/*.pid
  say "down${pids:+ (stopped ${pids[*]})}"
}

status() {
  for name in temporal worker-1 worker-2 api-1 api-2; do
    if running "$name"; then echo "$name running (pid $(cat "$PROD_DIR/$name.pid"))"; else echo "$name stopped"; fi
  done
}

# One prod.sh at a time per PROD_DIR: a restart never races a stop.
exec 9>"$PROD_DIR/.lock"
flock 9

case ${1:-} in
up) up ;;
down) down ;;
start) start "${2:?which process}" ;;
status) status ;;
*)
  echo "usage: deploy/prod.sh up | down | start NAME | status" >&2
  exit 2
  ;;
esac
