#!/usr/bin/env bash
# Run a command with Cassandra and Redis up and their addresses in the environment:
#
#   scripts/with-stack.sh npm test
#
# - Cassandra: uses $CASSANDRA_CONTACT_POINTS if set; otherwise starts (or reuses) the
#   local node of scripts/cassandra.sh and exports
#   CASSANDRA_CONTACT_POINTS=127.0.0.1:${CASSANDRA_LOCAL_PORT:-9042}.
# - Redis: exports REDIS_URL as printed by scripts/redis.sh.
# The command runs from the repository root. The local Cassandra is left running
# afterwards so the next run starts warm; stop it with scripts/cassandra.sh stop.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ $# -eq 0 ]]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 64
fi

if [[ -z "${CASSANDRA_CONTACT_POINTS:-}" ]]; then
  scripts/cassandra.sh start
  export CASSANDRA_CONTACT_POINTS="127.0.0.1:${CASSANDRA_LOCAL_PORT:-9042}"
else
  echo "cassandra: using CASSANDRA_CONTACT_POINTS=$CASSANDRA_CONTACT_POINTS" >&2
fi

REDIS_URL="$(scripts/redis.sh)"
export REDIS_URL

exec "$@"
