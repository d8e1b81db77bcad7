#!/usr/bin/env bash
# Run a command against the local clusters, for the cluster fault suites:
#
#   scripts/with-cluster.sh mocha --config test/cluster/mocharc.json
#
# - Cassandra: the three-node cluster of `scripts/cassandra.sh cluster` (started or reused),
#   exported as CASSANDRA_CONTACT_POINTS, with CASSANDRA_REPLICATION at replication factor 3.
# - Redis: REDIS_URL as scripts/with-stack.sh sets it, and the Redis Cluster of
#   scripts/redis-cluster.sh (started or reused) as CLUSTER_REDIS_NODES, for the tests to hand
#   to the gateways they start.
# Both clusters are left running; stop them with `scripts/cassandra.sh cluster stop` and
# `scripts/redis-cluster.sh stop`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ $# -eq 0 ]]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 64
fi

scripts/cassandra.sh cluster start
CASSANDRA_CONTACT_POINTS="$(scripts/cassandra.sh cluster contact-points)"
export CASSANDRA_CONTACT_POINTS
export CASSANDRA_REPLICATION="{'class': 'NetworkTopologyStrategy', 'datacenter1': 3}"

if [[ -x scripts/redis-cluster.sh ]]; then
  CLUSTER_REDIS_NODES="$(scripts/redis-cluster.sh start)"
  export CLUSTER_REDIS_NODES
fi

exec scripts/with-stack.sh "$@"
