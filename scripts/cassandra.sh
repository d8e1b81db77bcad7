#!/usr/bin/env bash
# Run a real single-node Apache Cassandra 5.0 for development and tests, without
# Docker: jars come from Maven Central (scripts/cassandra/pom.xml), config is
# generated here, state lives under .local/cassandra/ (git-ignored).
#
#   scripts/cassandra.sh start    start (or reuse) the node, wait until CQL answers
#   scripts/cassandra.sh stop     SIGTERM, wait, SIGKILL after a timeout
#   scripts/cassandra.sh status   exit 0 if CQL answers
#   scripts/cassandra.sh logs [-f] show (or follow) the node's system.log
#
# Cluster mode: three nodes on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (loopback aliases, no setup on
# Linux), CQL on port 9043 of each and internode on 7020, so the single node above keeps running
# beside it. Same jars (.local/cassandra/lib), state under .local/cassandra-cluster/nodeN/.
#
#   scripts/cassandra.sh cluster start         start (or reuse) the three nodes, wait for CQL
#   scripts/cassandra.sh cluster stop          stop all three (SIGTERM, then SIGKILL)
#   scripts/cassandra.sh cluster status        one line per node; exit 0 if all three answer
#   scripts/cassandra.sh cluster kill N        kill -9 node N (1-3): a crash, for fault tests
#   scripts/cassandra.sh cluster restart N     start node N again (after kill), wait for CQL
#   scripts/cassandra.sh cluster logs N [-f]   node N's system.log
#   scripts/cassandra.sh cluster contact-points  print CASSANDRA_CONTACT_POINTS for the cluster
#   scripts/cassandra.sh cluster wipe          stop, then delete the cluster's data
#
# Environment:
#   CASSANDRA_CONTACT_POINTS  use that cluster instead: start starts nothing
#   CASSANDRA_LOCAL_PORT      CQL port (default 9042)
#   CASSANDRA_STORAGE_PORT    internode port (default 7010, not 7000, to avoid clashes)
#   CASSANDRA_JMX_PORT        enable JMX on 127.0.0.1:<port> (default: JMX off)
#   CASSANDRA_HEAP            heap size (default 1G), CASSANDRA_YOUNG young gen (default 256M;
#                             "auto" lets G1 size it to meet the pause goal)
#   CASSANDRA_GC_PAUSE_MS     G1's pause goal, MaxGCPauseMillis (default 300, Cassandra's own)
#   CASSANDRA_START_TIMEOUT   seconds to wait for CQL (default 180)
#   CASSANDRA_JAVA            java binary (default: Java 17 if installed, else java on PATH)
#   CASSANDRA_MLOCK           set to keep Cassandra's mlockall (pins the heap; default: off)
#   CASSANDRA_TIMER_SLACK_NS  timer slack of the JVM's threads (default 1000000; the kernel's is 50000)
#   CASSANDRA_CLUSTER_PORT    cluster mode: CQL port on each node (default 9043)
#   CASSANDRA_CLUSTER_STORAGE_PORT  cluster mode: internode port (default 7020)
#   CASSANDRA_CLUSTER_HEAP    cluster mode: heap per node (default 512M)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB="$ROOT/.local/cassandra/lib"
POM="$ROOT/scripts/cassandra/pom.xml"
PING="$ROOT/scripts/cql-ping.mjs"
CLUSTER_BASE="$ROOT/.local/cassandra-cluster"
CLUSTER_SIZE=3

CASSANDRA_VERSION="5.0.6"
START_TIMEOUT="${CASSANDRA_START_TIMEOUT:-180}"
TIMER_SLACK_NS="${CASSANDRA_TIMER_SLACK_NS:-1000000}"

# The node this invocation works on: the single node, or (cluster mode) node N.
single_node() {
  BASE="$ROOT/.local/cassandra"
  ADDRESS=127.0.0.1
  PORT="${CASSANDRA_LOCAL_PORT:-9042}"
  STORAGE_PORT="${CASSANDRA_STORAGE_PORT:-7010}"
  SEEDS="127.0.0.1:$STORAGE_PORT"
  CLUSTER_NAME=chat-gateway-local
  HEAP="${CASSANDRA_HEAP:-1G}"
  YOUNG="${CASSANDRA_YOUNG:-256M}"
  MEMTABLE=128MiB
  BOOTSTRAP=true
  UNSAFE_SYSTEM=true
  # A single node has nothing to wait for; a cluster node must gossip before it serves.
  RING_DELAY_MS=1000
  node_paths
}

cluster_node() {
  local n="$1"
  [[ "$n" =~ ^[1-9]$ && "$n" -le $CLUSTER_SIZE ]] || die "no cluster node '$n' (1-$CLUSTER_SIZE)"
  BASE="$CLUSTER_BASE/node$n"
  ADDRESS="127.0.0.$n"
  PORT="${CASSANDRA_CLUSTER_PORT:-9043}"
  STORAGE_PORT="${CASSANDRA_CLUSTER_STORAGE_PORT:-7020}"
  SEEDS="127.0.0.1:$STORAGE_PORT,127.0.0.2:$STORAGE_PORT"
  CLUSTER_NAME=chat-gateway-cluster
  HEAP="${CASSANDRA_CLUSTER_HEAP:-512M}"
  YOUNG=128M
  MEMTABLE=64MiB
  BOOTSTRAP=false
  UNSAFE_SYSTEM=false
  RING_DELAY_MS=5000
  node_paths
}

node_paths() {
  CONF="$BASE/conf"
  DATA="$BASE/data"
  LOGS="$BASE/logs"
  PIDFILE="$BASE/cassandra.pid"
}

STOP_TIMEOUT=60
LOG_MARK=0

say() { printf 'cassandra: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
die() { say "$*"; exit 1; }

java_bin() {
  if [[ -n "${CASSANDRA_JAVA:-}" ]]; then
    printf '%s\n' "$CASSANDRA_JAVA"
  elif [[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]]; then
    printf '%s\n' /usr/lib/jvm/java-17-openjdk-amd64/bin/java
  elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    printf '%s\n' "$JAVA_HOME/bin/java"
  else
    command -v java || die "no java found (Cassandra $CASSANDRA_VERSION needs Java 11 or 17)"
  fi
}

# CQL answers on our port? (quick check, no waiting)
cql_up() {
  node "$PING" --contact-points "$ADDRESS:$PORT" --timeout 0 --quiet >/dev/null 2>&1
}

# pid from the pid file if that process is alive and is this checkout's Cassandra, else nothing.
running_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 0
  pid="$(tr -dc '0-9' <"$PIDFILE")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "cassandra.config=file://$CONF/cassandra.yaml"; then
    printf '%s\n' "$pid"
  fi
}

show_log_tail() {
  local f
  # ERROR lines written by this start only (system.log is appended to across runs)
  if [[ -s "$LOGS/system.log" ]] &&
    tail -n "+$((LOG_MARK + 1))" "$LOGS/system.log" | grep -q '^ERROR'; then
    say "errors in $LOGS/system.log:"
    tail -n "+$((LOG_MARK + 1))" "$LOGS/system.log" | grep '^ERROR' | tail -n 5 >&2
  fi
  for f in "$LOGS/system.log" "$LOGS/stdout.log"; do
    if [[ -s "$f" ]]; then
      say "last lines of $f:"
      tail -n 40 "$f" >&2
    fi
  done
}

fetch_jars() {
  local stamp t0
  stamp="cassandra-all $CASSANDRA_VERSION $(sha1sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$LIB/.complete" && "$(cat "$LIB/.complete")" == "$stamp" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch the Cassandra jars)"
  say "fetching jars (first run only)"
  t0="$(now)"
  rm -rf "$LIB"
  mkdir -p "$LIB"
  if ! mvn -q -B -f "$POM" dependency:copy-dependencies \
    -DoutputDirectory="$LIB" -DincludeScope=runtime >"$LIB.mvn.log" 2>&1; then
    tail -n 40 "$LIB.mvn.log" >&2
    die "fetching jars failed (full output: $LIB.mvn.log)"
  fi
  [[ -f "$LIB/cassandra-all-$CASSANDRA_VERSION.jar" ]] || die "cassandra-all jar missing after fetch"
  printf '%s\n' "$stamp" >"$LIB/.complete"
  say "fetched $(find "$LIB" -name '*.jar' | wc -l) jars in $(since "$t0") s"
}

write_config() {
  mkdir -p "$CONF/triggers" "$LOGS" \
    "$DATA/data" "$DATA/commitlog" "$DATA/saved_caches" "$DATA/hints" "$DATA/cdc_raw"

  # Our own minimal config; every other setting keeps Cassandra 5.0's default. A cluster node
  # starts empty alongside empty peers, so it has nothing to stream: no bootstrap.
  cat >"$CONF/cassandra.yaml" <<EOF
# Generated by scripts/cassandra.sh: edits here are overwritten on every start.
cluster_name: $CLUSTER_NAME
num_tokens: 4
auto_bootstrap: $BOOTSTRAP
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$SEEDS"

listen_address: $ADDRESS
rpc_address: $ADDRESS
storage_port: $STORAGE_PORT
ssl_storage_port: $((STORAGE_PORT + 1))
start_native_transport: true
native_transport_port: $PORT

data_file_directories:
  - $DATA/data
commitlog_directory: $DATA/commitlog
saved_caches_directory: $DATA/saved_caches
hints_directory: $DATA/hints
cdc_raw_directory: $DATA/cdc_raw

# Periodic sync still survives kill -9: a write is in the kernel's page cache before it is
# acknowledged; only a machine crash loses the last period.
commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 32MiB
commitlog_total_space: 512MiB

authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
role_manager: CassandraRoleManager
network_authorizer: AllowAllNetworkAuthorizer

# Tests create and drop keyspaces all the time: no snapshots on drop/truncate.
auto_snapshot: false
snapshot_before_compaction: false
storage_compatibility_mode: NONE

# Small caches and pools: a 2-core machine shared with the gateway and its tests.
key_cache_size: 16MiB
counter_cache_size: 4MiB
file_cache_size: 64MiB
networking_cache_size: 32MiB
memtable_heap_space: $MEMTABLE
memtable_offheap_space: $MEMTABLE
# Memtable cells off the heap, so young collections stop copying them: at 300 messages/s 66 MiB
# survived a young pause instead of 132 to 146 MiB (pauses were 36 to 120 ms either way on 2 cores).
memtable_allocation_type: offheap_objects
concurrent_compactors: 1
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
concurrent_materialized_view_writes: 8
native_transport_max_threads: 32
EOF

  cat >"$CONF/logback.xml" <<'EOF'
<!-- Generated by scripts/cassandra.sh: edits here are overwritten on every start. -->
<configuration scan="false">
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy">
      <fileNamePattern>${cassandra.logdir}/system.log.%d{yyyy-MM-dd}.%i.gz</fileNamePattern>
      <maxFileSize>20MB</maxFileSize>
      <maxHistory>3</maxHistory>
      <totalSizeCap>100MB</totalSizeCap>
    </rollingPolicy>
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="SYSTEMLOG" />
  </root>
</configuration>
EOF
}

# JVM options: our own short version of Cassandra's conf/jvm-server.options and
# conf/jvm17-server.options, sized for a small shared machine.
jvm_opts() {
  local jamm
  JVM_OPTS=()
  if [[ "$YOUNG" != auto ]]; then JVM_OPTS+=("-Xmn$YOUNG"); fi
  JVM_OPTS+=(
    "-Xms$HEAP" "-Xmx$HEAP" -Xss256k
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
    "-XX:MaxGCPauseMillis=${CASSANDRA_GC_PAUSE_MS:-300}"
    -XX:+UseThreadPriorities -XX:+UseTLAB -XX:+ResizeTLAB -XX:+PerfDisableSharedMem
    -XX:+ExitOnOutOfMemoryError "-XX:ErrorFile=$LOGS/hs_err_%p.log"
    # Pauses of the local node stall every request; docs/performance.md cites this log.
    "-Xlog:gc:file=$LOGS/gc.log:time,uptime:filecount=3,filesize=10M"
    -ea -da:net.openhft...
    -Djava.net.preferIPv4Stack=true
    -Djdk.attach.allowAttachSelf=true
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    # Java 17 module access that Cassandra 5.0 needs (from conf/jvm17-server.options)
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
    --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    # Cassandra itself
    "-Dcassandra.config=file://$CONF/cassandra.yaml"
    "-Dcassandra.storagedir=$DATA"
    "-Dcassandra.logdir=$LOGS"
    "-Dcassandra.triggers_dir=$CONF/triggers"
    "-Dlogback.configurationFile=$CONF/logback.xml"
    -Dcassandra-foreground=yes
    # no gossip settling, a short ring delay, no delayed superuser setup
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    "-Dcassandra.ring_delay_ms=$RING_DELAY_MS"
    -Dcassandra.superuser_setup_delay_ms=0
    -Dcassandra.shutdown_announce_in_ms=0
  )
  # Dev only: no commit log for system tables, which makes schema changes (test keyspaces) fast.
  # Not on cluster nodes: a node killed with kill -9 would come back without the tables created
  # since its last flush, drop their commit log on replay, and take them back empty from a peer.
  if [[ "$UNSAFE_SYSTEM" == true ]]; then JVM_OPTS+=(-Dcassandra.unsafesystem=true); fi
  if [[ -n "${CASSANDRA_JMX_PORT:-}" ]]; then
    JVM_OPTS+=("-Dcassandra.jmx.local.port=$CASSANDRA_JMX_PORT" -Dcom.sun.management.jmxremote.authenticate=false)
  fi
  jamm="$(find "$LIB" -maxdepth 1 -name 'jamm-*.jar' | head -n 1)"
  if [[ -n "$jamm" ]]; then
    JVM_OPTS+=("-javaagent:$jamm")
  fi
}

start() {
  if [[ -n "${CASSANDRA_CONTACT_POINTS:-}" ]]; then
    say "CASSANDRA_CONTACT_POINTS=$CASSANDRA_CONTACT_POINTS is set: using that cluster, starting nothing"
    return 0
  fi
  start_node
}

# Starts (or reuses) the current node and waits until its CQL answers; exits 1 if it does not.
start_node() {
  command -v node >/dev/null || die "node not found (needed for scripts/cql-ping.mjs)"
  mkdir -p "$BASE"
  # One start at a time (parallel test runs); the JVM must not inherit this fd.
  exec 9>"$BASE/.start.lock"
  flock 9

  if cql_up; then
    say "already running: CQL answers on $ADDRESS:$PORT"
    exec 9>&-
    return 0
  fi

  local pid t0
  t0="$(now)"
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    say "already starting (pid $pid), waiting for CQL on $ADDRESS:$PORT"
  else
    launch
    pid="$(cat "$PIDFILE")"
  fi
  exec 9>&-
  wait_cql "$pid" "$t0"
}

launch() {
  local java
  if [[ -f "$PIDFILE" ]]; then
    say "removing stale pid file"
    rm -f "$PIDFILE"
  fi
  fetch_jars
  write_config
  if [[ -f "$LOGS/system.log" ]]; then LOG_MARK="$(wc -l <"$LOGS/system.log")"; fi
  java="$(java_bin)"
  jvm_opts
  # Cassandra mlockall()s the JVM at boot, which as root (CAP_IPC_LOCK) pins the
  # whole 1 GiB heap in RAM at once. Drop that capability so the lock fails
  # (a logged warning) and memory is only used as the heap fills.
  local -a nolock=()
  if [[ $EUID -eq 0 && -z "${CASSANDRA_MLOCK:-}" ]] && command -v setpriv >/dev/null &&
    setpriv --bounding-set -ipc_lock --inh-caps -ipc_lock true 2>/dev/null; then
    nolock=(setpriv --bounding-set -ipc_lock --inh-caps -ipc_lock)
  fi
  say "starting Cassandra $CASSANDRA_VERSION on $ADDRESS:$PORT (logs: ${LOGS#"$ROOT"/})"
  # Double fork: the JVM is not our child (a JVM that dies while booting must not
  # linger as our zombie, which kill -0 would still see), and setsid gives it its
  # own session, so it survives the calling shell and a Ctrl-C in it.
  (
    cd "$BASE"
    # Idle workers of Cassandra's shared thread pool spin in parkNanos(<= 10 us) loops; under
    # a trickle of requests that is a steady stream of timer wakeups. Measured on 2 cores, 300
    # messages/s as the gateway writes them: 0.91 of a core with the kernel's 50 us slack, 0.48
    # to 0.53 with 250 us at the same p50 (2.2 to 2.7 ms for the four round trips), 0.42 with
    # 1 ms but p50 5.1 ms. Every JVM thread inherits this slack.
    echo "$TIMER_SLACK_NS" >/proc/self/timerslack_ns 2>/dev/null || true
    setsid nohup "${nolock[@]}" "$java" "${JVM_OPTS[@]}" -cp "$LIB/*" \
      org.apache.cassandra.service.CassandraDaemon </dev/null >"$LOGS/stdout.log" 2>&1 9>&- &
    printf '%s\n' "$!" >"$PIDFILE"
  )
}

wait_cql() {
  local pid="$1" t0="$2" rc=0 version
  version="$(node "$PING" --contact-points "$ADDRESS:$PORT" --timeout "$START_TIMEOUT" --pid "$pid" --quiet)" || rc=$?
  if [[ $rc -eq 0 ]]; then
    say "started in $(since "$t0") s (Cassandra $version, pid $pid, CQL $ADDRESS:$PORT)"
    return 0
  fi
  if [[ $rc -eq 2 ]]; then
    say "Cassandra (pid $pid) exited during startup"
  else
    say "no CQL answer after ${START_TIMEOUT} s; stopping pid $pid"
    stop_pid "$pid" || true
  fi
  rm -f "$PIDFILE"
  show_log_tail
  exit 1
}

# SIGTERM (Cassandra's shutdown hook drains and flushes), SIGKILL after STOP_TIMEOUT s.
stop_pid() {
  local pid="$1" ticks=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((ticks >= STOP_TIMEOUT * 4)); then
      say "still running after ${STOP_TIMEOUT} s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.25
    ticks=$((ticks + 1))
  done
}

stop() {
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PIDFILE"
    if cql_up; then
      say "not started by this script, but CQL answers on $ADDRESS:$PORT; leaving it alone"
    else
      say "not running"
    fi
    return 0
  fi
  local t0
  t0="$(now)"
  say "stopping pid $pid"
  stop_pid "$pid"
  rm -f "$PIDFILE"
  say "stopped in $(since "$t0") s"
}

status() {
  local cp="${CASSANDRA_CONTACT_POINTS:-127.0.0.1:$PORT}" version pid
  if version="$(node "$PING" --contact-points "$cp" --timeout 0 --quiet)"; then
    pid="$(running_pid)"
    say "up: Cassandra $version answers CQL on $cp${pid:+ (pid $pid)}"
    return 0
  fi
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    say "starting: pid $pid is alive but CQL on $cp does not answer yet"
  else
    say "down: no CQL answer on $cp"
  fi
  return 1
}

logs() {
  [[ -f "$LOGS/system.log" ]] || die "no log yet ($LOGS/system.log)"
  if [[ "${1:-}" == "-f" ]]; then
    exec tail -n 100 -F "$LOGS/system.log"
  fi
  tail -n "${CASSANDRA_LOG_LINES:-200}" "$LOGS/system.log"
}

cluster_start() {
  local n pids=() failed=0
  # The first seed alone, then the others together: they join through it.
  (cluster_node 1 && start_node) || exit 1
  for ((n = 2; n <= CLUSTER_SIZE; n++)); do
    (cluster_node "$n" && start_node) &
    pids+=("$!")
  done
  for n in "${pids[@]}"; do wait "$n" || failed=1; done
  ((failed == 0)) || die "a cluster node did not start"
  say "cluster up: CQL on $(cluster_contact_points)"
}

cluster_contact_points() {
  local n points=()
  for ((n = 1; n <= CLUSTER_SIZE; n++)); do
    points+=("127.0.0.$n:${CASSANDRA_CLUSTER_PORT:-9043}")
  done
  local IFS=,
  printf '%s\n' "${points[*]}"
}

cluster_each() {
  local n
  for ((n = 1; n <= CLUSTER_SIZE; n++)); do
    (cluster_node "$n" && "$@") &
  done
  wait
}

cluster_status() {
  local n pid down=0
  for ((n = 1; n <= CLUSTER_SIZE; n++)); do
    cluster_node "$n"
    pid="$(running_pid)"
    if cql_up; then
      say "node $n up: CQL on $ADDRESS:$PORT${pid:+ (pid $pid)}"
    elif [[ -n "$pid" ]]; then
      say "node $n starting: pid $pid, no CQL on $ADDRESS:$PORT yet"
      down=1
    else
      say "node $n down"
      down=1
    fi
  done
  return "$down"
}

# kill -9: a crash, not a shutdown (no drain, no flush, peers find out by gossip).
cluster_kill() {
  cluster_node "$1"
  local pid
  pid="$(running_pid)"
  [[ -n "$pid" ]] || die "node $1 is not running"
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$PIDFILE"
  say "node $1 killed (pid $pid)"
}

cluster() {
  case "${1:-}" in
    start) cluster_start ;;
    stop) cluster_each stop ;;
    status) cluster_status ;;
    contact-points) cluster_contact_points ;;
    kill) cluster_kill "${2:-}" ;;
    restart) cluster_node "${2:-}" && start_node ;;
    logs) cluster_node "${2:-}" && logs "${3:-}" ;;
    wipe)
      cluster_each stop
      rm -rf "$CLUSTER_BASE"
      say "cluster data deleted"
      ;;
    *)
      echo "usage: $0 cluster start|stop|status|contact-points|kill N|restart N|logs N [-f]|wipe" >&2
      exit 64
      ;;
  esac
}

case "${1:-}" in
  start) single_node && start ;;
  stop) single_node && stop ;;
  status) single_node && status ;;
  logs) single_node && logs "${2:-}" ;;
  cluster) cluster "${@:2}" ;;
  *)
    echo "usage: $0 start|stop|status|logs [-f] | cluster ..." >&2
    exit 64
    ;;
esac
