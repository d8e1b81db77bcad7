#!/usr/bin/env bash
# A local Redis Cluster for the cluster fault suite and the scaling bench: three masters and one
# replica each, Debian's redis-server in cluster mode on 127.0.0.1:7101-7106 (the Redis on 6379
# is left alone), no persistence, state under .local/redis-cluster/.
#
#   scripts/redis-cluster.sh start         start (or reuse) the six nodes, create the cluster
#                                          once, wait for cluster_state:ok; prints the nodes as
#                                          REDIS_CLUSTER_NODES wants them
#   scripts/redis-cluster.sh stop          stop the six nodes
#   scripts/redis-cluster.sh status        CLUSTER NODES as seen from a live node
#   scripts/redis-cluster.sh kill-master   kill -9 the master of slot 0; prints its port
#   scripts/redis-cluster.sh restart PORT  start that node again (it rejoins as a replica)
#   scripts/redis-cluster.sh wipe          stop, then delete the cluster's state
#
# Environment: REDIS_CLUSTER_BASE_PORT (default 7101; the nodes take it and the next five).
# Progress goes to stderr; stdout carries only what the command prints.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="$ROOT/.local/redis-cluster"
FIRST="${REDIS_CLUSTER_BASE_PORT:-7101}"
PORTS=()
for ((i = 0; i < 6; i++)); do PORTS+=("$((FIRST + i))"); done

say() { printf 'redis-cluster: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

cli() {
  local port="$1"
  shift
  timeout 10 redis-cli -h 127.0.0.1 -p "$port" "$@"
}

alive() { [[ "$(cli "$1" ping 2>/dev/null)" == "PONG" ]]; }

node_pid() {
  local pidfile="$BASE/$1/redis.pid" pid
  [[ -f "$pidfile" ]] || return 0
  pid="$(tr -dc '0-9' <"$pidfile")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server.*:$1"; then
    printf '%s\n' "$pid"
  fi
}

start_node() {
  local port="$1" i
  alive "$port" && return 0
  mkdir -p "$BASE/$port"
  # A short node timeout: a replica takes over about 2 s after its master stops answering.
  redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
    --daemonize yes --pidfile "$BASE/$port/redis.pid" --logfile "$BASE/$port/redis.log" \
    --dir "$BASE/$port" --save "" --appendonly no >/dev/null 9>&-
  for ((i = 0; i < 50; i++)); do
    alive "$port" && return 0
    sleep 0.1
  done
  tail -n 20 "$BASE/$port/redis.log" >&2 || true
  die "node $port did not answer PING"
}

cluster_ok() {
  local port
  for port in "${PORTS[@]}"; do
    alive "$port" || continue
    cli "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

wait_ok() {
  local i
  for ((i = 0; i < 150; i++)); do
    cluster_ok && return 0
    sleep 0.2
  done
  die "cluster_state is not ok after 30 s"
}

nodes_list() {
  local IFS=,
  printf '%s\n' "${PORTS[*]/#/127.0.0.1:}"
}

start() {
  command -v redis-server >/dev/null || "$ROOT/scripts/redis.sh" >/dev/null # installs it
  command -v redis-cli >/dev/null || die "redis-cli not found"
  mkdir -p "$BASE"
  exec 9>"$BASE/.start.lock"
  flock 9
  local port
  for port in "${PORTS[@]}"; do start_node "$port"; done
  # Slots assigned means the cluster exists already (nodes.conf keeps it across restarts).
  if cli "${PORTS[0]}" cluster info | grep -q '^cluster_slots_assigned:0'; then
    say "creating the cluster: 3 masters, 1 replica each"
    local -a addrs=()
    for port in "${PORTS[@]}"; do addrs+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$BASE/create.log" 2>&1 ||
      { tail -n 20 "$BASE/create.log" >&2; die "redis-cli --cluster create failed"; }
  fi
  wait_ok
  say "up: ${PORTS[0]}-${PORTS[5]}"
  nodes_list
}

stop() {
  local port pid
  for port in "${PORTS[@]}"; do
    pid="$(node_pid "$port")"
    [[ -n "$pid" ]] && kill -TERM "$pid"
  done
  for port in "${PORTS[@]}"; do
    pid="$(node_pid "$port")"
    while [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  done
  say "stopped"
}

any_live_port() {
  local port
  for port in "${PORTS[@]}"; do
    if alive "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "no node answers"
}

# The master serving slot 0, killed with SIGKILL: no goodbye to clients or to the cluster bus.
kill_master() {
  local port pid
  port="$(cli "$(any_live_port)" cluster nodes |
    awk '$3 ~ /master/ && $3 !~ /fail/ && $9 ~ /^0-/ { split($2, a, "[:@]"); print a[2] }')"
  [[ -n "$port" ]] || die "no live master of slot 0"
  pid="$(node_pid "$port")"
  [[ -n "$pid" ]] || die "no pid for master $port"
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  say "killed master 127.0.0.1:$port (pid $pid)"
  printf '%s\n' "$port"
}

status() {
  cli "$(any_live_port)" cluster nodes
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill-master) kill_master ;;
  restart)
    [[ " ${PORTS[*]} " == *" ${2:-none} "* ]] || die "no node on port '${2:-}'"
    start_node "$2"
    wait_ok
    say "node $2 is back"
    ;;
  wipe)
    stop
    rm -rf "$BASE"
    say "state deleted"
    ;;
  *)
    echo "usage: $0 start|stop|status|kill-master|restart PORT|wipe" >&2
    exit 64
    ;;
esac
