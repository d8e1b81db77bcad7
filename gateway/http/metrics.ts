import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** One registry per node, so several nodes can run in one process (as the tests do). */
export function createMetrics(opts: { defaultMetrics: boolean }) {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    sockets: new Gauge({
      name: "chat_connected_sockets",
      help: "Sockets connected to this node",
      registers: [registry],
    }),
    requests: new Counter({
      name: "chat_requests_total",
      help: "Requests answered, by event and outcome (ok or an error code)",
      labelNames: ["event", "outcome"] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: "chat_request_duration_seconds",
      help: "Time from a request's arrival to its answer, by event",
      labelNames: ["event"] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    sends: new Counter({
      name: "chat_messages_sent_total",
      help: "message:send requests answered ok (a message stored, or a retry of one)",
      registers: [registry],
    }),
    handshakeRefusals: new Counter({
      name: "chat_handshake_refusals_total",
      help: "Handshakes refused, by error code and reason",
      labelNames: ["code", "reason"] as const,
      registers: [registry],
    }),
    deliveries: new Counter({
      name: "chat_fanout_total",
      help: "Events handed to fan-out, by event, counted per recipient user",
      labelNames: ["event"] as const,
      registers: [registry],
    }),
    disconnects: new Counter({
      name: "chat_server_disconnects_total",
      help: "Sockets this node closed itself, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    replayed: new Counter({
      name: "chat_fanout_replayed_total",
      help: "Broadcasts sent again after a Redis outage",
      registers: [registry],
    }),
    syncRequired: new Counter({
      name: "chat_fanout_sync_required_total",
      help: "Users told to catch up (sync:required) because an outage backlog overflowed; a broadcast to everyone counts 1",
      registers: [registry],
    }),
    sendBufferPeak: new Gauge({
      name: "chat_send_buffer_peak_bytes",
      help: "Largest number of bytes any one socket has had queued for sending",
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
