#!/usr/bin/env bash
# Print on stdout the Redis URL to use, starting a local Redis if needed.
#
#   scripts/redis.sh [start]   print ${REDIS_URL:-redis://127.0.0.1:6379} if it answers PING;
#                              otherwise start (or reuse) our own redis-server on a free
#                              127.0.0.1 port, no persistence, state under .local/redis/,
#                              and print its URL (installs Debian's redis-server if missing)
#   scripts/redis.sh stop      stop our own redis-server (never touches any other Redis)
#
# Progress goes to stderr; stdout carries only the URL.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="$ROOT/.local/redis"
PORTFILE="$BASE/port"
PIDFILE="$BASE/redis.pid"

say() { printf 'redis: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# PING a Redis URL: redis-cli if installed, else node + the project's ioredis.
ping_url() {
  local url="$1"
  if command -v redis-cli >/dev/null; then
    [[ "$(timeout 5 redis-cli -u "$url" ping 2>/dev/null)" == "PONG" ]]
  elif command -v node >/dev/null && [[ -d "$ROOT/node_modules/ioredis" ]]; then
    (cd "$ROOT" && URL="$url" timeout 10 node -e '
      const Redis = require("ioredis");
      const r = new Redis(process.env.URL, { lazyConnect: true, connectTimeout: 2000,
        maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      r.on("error", () => {});
      r.connect().then(() => r.ping()).then((p) => { r.disconnect(); process.exit(p === "PONG" ? 0 : 1); },
        () => { r.disconnect(); process.exit(1); });
    ' >/dev/null 2>&1)
  else
    return 1
  fi
}

port_in_use() {
  # bash's /dev/tcp: a connect that succeeds means something listens there
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

ensure_redis_server() {
  command -v redis-server >/dev/null && return 0
  say "installing Debian's redis-server (first run only)"
  local sudo=()
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "redis-server is missing and I am not root: apt-get install redis-server"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends redis-server; } >"$BASE/apt.log" 2>&1; then
    tail -n 20 "$BASE/apt.log" >&2
    die "installing redis-server failed (full output: $BASE/apt.log)"
  fi
  command -v redis-server >/dev/null || die "redis-server still not found after install"
}

our_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 0
  pid="$(tr -dc '0-9' <"$PIDFILE")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server"; then
    printf '%s\n' "$pid"
  fi
}

start() {
  local url="${REDIS_URL:-redis://127.0.0.1:6379}"
  if ping_url "$url"; then
    printf '%s\n' "$url"
    return 0
  fi
  if [[ -n "${REDIS_URL:-}" ]]; then
    say "REDIS_URL=$REDIS_URL does not answer PING; using a local Redis instead"
  fi

  mkdir -p "$BASE"
  exec 9>"$BASE/.start.lock"
  flock 9

  local port
  if [[ -f "$PORTFILE" ]]; then
    port="$(tr -dc '0-9' <"$PORTFILE")"
    if [[ -n "$port" ]] && ping_url "redis://127.0.0.1:$port"; then
      say "reusing local Redis on port $port"
      printf 'redis://127.0.0.1:%s\n' "$port"
      return 0
    fi
  fi

  ensure_redis_server
  port=6380
  while port_in_use "$port"; do
    port=$((port + 1))
    ((port < 6480)) || die "no free port in 6380-6479"
  done

  say "starting redis-server on 127.0.0.1:$port (no persistence, files in ${BASE#"$ROOT"/})"
  # --save "" and --appendonly no: nothing is written to disk but the log.
  redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
    --daemonize yes --pidfile "$PIDFILE" --logfile "$BASE/redis.log" --dir "$BASE" \
    --save "" --appendonly no 9>&- >/dev/null

  local i
  for ((i = 0; i < 50; i++)); do
    if ping_url "redis://127.0.0.1:$port"; then
      printf '%s\n' "$port" >"$PORTFILE"
      printf 'redis://127.0.0.1:%s\n' "$port"
      return 0
    fi
    sleep 0.2
  done
  tail -n 20 "$BASE/redis.log" >&2 || true
  die "redis-server on port $port did not answer PING"
}

stop() {
  local pid i
  pid="$(our_pid)"
  if [[ -z "$pid" ]]; then
    say "no local Redis of ours is running"
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM "$pid"
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -f "$PIDFILE" "$PORTFILE"
  say "stopped local Redis (pid $pid)"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 [start|stop]" >&2
    exit 64
    ;;
esac
