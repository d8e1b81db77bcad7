import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * One registry per node, so several nodes can run in one process (as the tests do). Each field
 * is named after its Prometheus metric without the `chat_` prefix.
 */
export function createMetrics(opts: { defaultMetrics: boolean }) {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name: `chat_${name}`, help, labelNames, registers });
  const gauge = (name: string, help: string) =>
    new Gauge({ name: `chat_${name}`, help, registers });
  return {
    registry,
    connectedSockets: gauge("connected_sockets", "Sockets connected to this node"),
    requestsTotal: counter(
      "requests_total",
      "Requests answered, by event and outcome (ok or an error code)",
      ["event", "outcome"],
    ),
    requestDurationSeconds: new Histogram({
      name: "chat_request_duration_seconds",
      help: "Time from a request's arrival to its answer, by event",
      labelNames: ["event"] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    messagesSentTotal: counter(
      "messages_sent_total",
      "message:send requests answered ok (a message stored, or a retry of one)",
    ),
    handshakeRefusalsTotal: counter(
      "handshake_refusals_total",
      "Handshakes refused, by error code and reason",
      ["code", "reason"],
    ),
    fanoutTotal: counter(
      "fanout_total",
      "Events handed to fan-out, by event, counted per recipient user",
      ["event"],
    ),
    serverDisconnectsTotal: counter(
      "server_disconnects_total",
      "Sockets this node disconnected itself, by reason",
      ["reason"],
    ),
    fanoutReplayedTotal: counter(
      "fanout_replayed_total",
      "Broadcasts sent again after a Redis outage",
    ),
    fanoutSyncRequiredTotal: counter(
      "fanout_sync_required_total",
      "Users told to catch up (sync:required) because an outage backlog overflowed; a broadcast to everyone counts 1",
    ),
    fanoutSubscriptionGapsTotal: counter(
      "fanout_subscription_gaps_total",
      "Times this node's Redis subscriptions worked again after a gap and its sockets were sent sync:required",
    ),
    // What a slow request's time went to (bench/load-run.ts reports both per phase).
    cassandraRequestSeconds: new Histogram({
      name: "chat_cassandra_request_seconds",
      help: "Time from a Cassandra request to its result, as the driver returns it",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    redisPingSeconds: new Histogram({
      name: "chat_redis_ping_seconds",
      help: "Round trip of a PING to Redis on the publishing connection, once a second",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    sendBufferPeakBytes: gauge(
      "send_buffer_peak_bytes",
      "Largest number of bytes any one socket has had queued for sending",
    ),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
