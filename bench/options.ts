// Flags of the load generator, with the defaults `npm run bench:load` uses.
import { parseArgs } from "node:util";
import type { NodeKind } from "./nodes.js";

export type LoadOptions = {
  target: NodeKind;
  users: number;
  nodes: number;
  /** Sends per second across all users, or "max": keep `inflight` sends outstanding. */
  rate: number | "max";
  inflight: number;
  durationS: number;
  rampS: number;
  /** Share of users in direct conversations; the rest are in groups of `groupSize`. */
  directShare: number;
  groupSize: number;
  contentBytes: number;
  connectConcurrency: number;
  /** Child processes holding the sockets (generators.ts); 0: this process holds them. */
  generators: number;
  /** Loopback addresses the sockets connect from, 127.0.0.1 upwards, in turn; 1: the kernel's pick. */
  sourceAddresses: number;
  graceS: number;
  /** Gateway nodes run the tsc build in dist/ (`npm start`'s form) instead of the sources via tsx. */
  compiled: boolean;
  /** Memory also sampled after a full garbage collection in each node (over its inspector). */
  collectGarbage: boolean;
  /** Seconds of node CPU measured with the sockets connected and nothing sent, before sending. */
  idleS: number;
  keyspace: string;
  /** The nodes' REDIS_ADAPTER, and (bare target only) the Socket.IO parser. */
  adapter: "classic" | "sharded";
  parser: "default" | "msgpack";
  json: string | null;
  quiet: boolean;
};

export const DEFAULTS: LoadOptions = {
  target: "gateway",
  users: 1000,
  nodes: 2,
  rate: 500,
  inflight: 64,
  durationS: 20,
  rampS: 5,
  directShare: 0.7,
  groupSize: 5,
  contentBytes: 100,
  connectConcurrency: 100,
  generators: 0,
  sourceAddresses: 1,
  graceS: 10,
  compiled: false,
  collectGarbage: false,
  idleS: 0,
  keyspace: "chat_bench",
  adapter: "classic",
  parser: "default",
  json: null,
  quiet: false,
};

export const USAGE = `usage: npm run bench:load -- [flags]
  --target gateway|bare   server under test (default gateway)
  --users N               virtual users, one socket each (${DEFAULTS.users})
  --nodes N               nodes, users spread round-robin (${DEFAULTS.nodes})
  --rate N|max            sends per second, or max with --inflight outstanding (${DEFAULTS.rate})
  --inflight N            outstanding sends when --rate max (${DEFAULTS.inflight})
  --duration S            steady seconds after the ramp (${DEFAULTS.durationS})
  --ramp S                seconds to ramp the send rate up from 0 (${DEFAULTS.rampS})
  --direct-share F        share of users in direct conversations (${DEFAULTS.directShare})
  --group-size N          members per group (${DEFAULTS.groupSize})
  --content-bytes N       message size (${DEFAULTS.contentBytes})
  --connect-concurrency N connections opened at once (${DEFAULTS.connectConcurrency})
  --generators N          child processes holding the sockets, each under its open-file
                          limit; 0: this process (${DEFAULTS.generators})
  --source-addresses N    connect from 127.0.0.1 .. 127.0.0.N in turn, when one address runs
                          out of ephemeral ports; 1: the kernel picks (${DEFAULTS.sourceAddresses})
  --grace S               seconds to wait for the last deliveries (${DEFAULTS.graceS})
  --compiled              nodes run tsc's output, as npm start does (npm run build && npm run
                          build:bench first), instead of the sources through tsx
  --collect-garbage       also sample the nodes' memory after a full garbage collection
                          (nodes run with a loopback --inspect for it)
  --idle S                seconds of idle node CPU to measure before sending (${DEFAULTS.idleS})
  --keyspace NAME         bench keyspace, created if missing and reused (${DEFAULTS.keyspace})
  --adapter classic|sharded  REDIS_ADAPTER of the nodes (${DEFAULTS.adapter})
  --parser default|msgpack   bare target: Socket.IO parser (${DEFAULTS.parser})
  --json PATH             write the result as JSON (default bench/results/load-<time>.json)
  --quiet                 no live progress line`;

const num = (v: string | undefined, fallback: number, name: string) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number: ${v}`);
  return n;
};

export function parseLoadOptions(argv: string[]): LoadOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: "string" },
      users: { type: "string" },
      nodes: { type: "string" },
      rate: { type: "string" },
      inflight: { type: "string" },
      duration: { type: "string" },
      ramp: { type: "string" },
      "direct-share": { type: "string" },
      "group-size": { type: "string" },
      "content-bytes": { type: "string" },
      "connect-concurrency": { type: "string" },
      generators: { type: "string" },
      "source-addresses": { type: "string" },
      grace: { type: "string" },
      idle: { type: "string" },
      "collect-garbage": { type: "boolean" },
      compiled: { type: "boolean" },
      keyspace: { type: "string" },
      adapter: { type: "string" },
      parser: { type: "string" },
      json: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const target = values.target ?? DEFAULTS.target;
  if (target !== "gateway" && target !== "bare") throw new Error(`--target: ${target}`);
  const adapter = values.adapter ?? DEFAULTS.adapter;
  if (adapter !== "classic" && adapter !== "sharded") throw new Error(`--adapter: ${adapter}`);
  const parser = values.parser ?? DEFAULTS.parser;
  if (parser !== "default" && parser !== "msgpack") throw new Error(`--parser: ${parser}`);
  const d = DEFAULTS;
  return {
    target,
    users: num(values.users, d.users, "users"),
    nodes: Math.max(1, num(values.nodes, d.nodes, "nodes")),
    rate: values.rate === "max" ? "max" : num(values.rate, d.rate as number, "rate"),
    inflight: Math.max(1, num(values.inflight, d.inflight, "inflight")),
    durationS: num(values.duration, d.durationS, "duration"),
    rampS: num(values.ramp, d.rampS, "ramp"),
    directShare: Math.min(1, num(values["direct-share"], d.directShare, "direct-share")),
    groupSize: Math.max(3, num(values["group-size"], d.groupSize, "group-size")),
    contentBytes: Math.max(1, num(values["content-bytes"], d.contentBytes, "content-bytes")),
    connectConcurrency: Math.max(
      1,
      num(values["connect-concurrency"], d.connectConcurrency, "connect-concurrency"),
    ),
    generators: Math.floor(num(values.generators, d.generators, "generators")),
    sourceAddresses: Math.min(
      254,
      Math.max(
        1,
        Math.floor(num(values["source-addresses"], d.sourceAddresses, "source-addresses")),
      ),
    ),
    graceS: num(values.grace, d.graceS, "grace"),
    compiled: values.compiled ?? d.compiled,
    collectGarbage: values["collect-garbage"] ?? d.collectGarbage,
    idleS: num(values.idle, d.idleS, "idle"),
    keyspace: values.keyspace ?? d.keyspace,
    adapter,
    parser,
    json: values.json ?? null,
    quiet: values.quiet ?? false,
  };
}
