// What a phase's tail latency went to, per phase of a load run: each node's event-loop delay
// (p99, from prom-client's default metrics, which reset at every scrape), the Cassandra request
// and Redis round-trip latency the gateway measured (p99 from its histograms' growth over the
// phase), and the local Cassandra JVM's GC pauses (from its gc.log) in the phase's time window.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ROOT, type NodeProcess } from "./nodes.js";
import { round } from "./stats.js";

/** The single local node's GC log (scripts/cassandra.sh); absent for other setups. */
const GC_LOG = path.join(ROOT, ".local", "cassandra", "logs", "gc.log");

type Scrape = Map<string, number>;

export type TailCauses = {
  /** Per node, in node order; null where the node exports no such metric (the bare server). */
  eventLoopP99Ms: (number | null)[];
  cassandraP99Ms: number | null;
  redisPingP99Ms: number | null;
  cassandraGc: { pauses: number; maxMs: number; totalMs: number } | null;
};

async function scrape(url: string): Promise<Scrape> {
  const samples: Scrape = new Map();
  const text = await fetch(`${url}/metrics`)
    .then((r) => (r.ok ? r.text() : ""))
    .catch(() => "");
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The upper bound (ms) of the bucket holding the 99th percentile of what a histogram gained. */
function p99Ms(nodes: [Scrape, Scrape][], name: string): number | null {
  const gained = new Map<number, number>();
  for (const [before, after] of nodes) {
    for (const [key, value] of after) {
      const m = key.match(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`));
      if (!m) continue;
      const le = m[1] === "+Inf" ? Infinity : Number(m[1]);
      gained.set(le, (gained.get(le) ?? 0) + value - (before.get(key) ?? 0));
    }
  }
  const total = gained.get(Infinity) ?? 0;
  if (total <= 0) return null;
  for (const [le, count] of [...gained].sort(([a], [b]) => a - b)) {
    if (count >= total * 0.99) return le === Infinity ? Infinity : round(le * 1000, 1);
  }
  return null;
}

async function gcPauses(from: number, to: number): Promise<TailCauses["cassandraGc"]> {
  const text = await readFile(GC_LOG, "utf8").catch(() => null);
  if (text === null) return null;
  const pauses: number[] = [];
  // [2026-12-02T07:08:38.872+0000][3155.153s] GC(381) Pause Young (...) 1009M->362M(1024M) 35.809ms
  for (const line of text.split("\n")) {
    const m = line.match(/^\[([^\]]+)\].* Pause .* ([\d.]+)ms$/);
    if (!m) continue;
    const at = Date.parse((m[1] as string).replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
    if (at >= from && at <= to) pauses.push(Number(m[2]));
  }
  return {
    pauses: pauses.length,
    maxMs: round(Math.max(0, ...pauses), 1),
    totalMs: round(
      pauses.reduce((a, b) => a + b, 0),
      1,
    ),
  };
}

/** Starts watching a phase; the returned function ends it and says what its tail went to. */
export async function watchTail(nodes: NodeProcess[]): Promise<() => Promise<TailCauses>> {
  const from = Date.now();
  const before = await Promise.all(nodes.map((n) => scrape(n.url)));
  return async () => {
    const to = Date.now();
    const after = await Promise.all(nodes.map((n) => scrape(n.url)));
    const pairs = before.map((b, i): [Scrape, Scrape] => [b, after[i] ?? new Map()]);
    return {
      eventLoopP99Ms: after.map((s) => {
        const v = s.get("nodejs_eventloop_lag_p99_seconds");
        return v === undefined ? null : round(v * 1000, 1);
      }),
      cassandraP99Ms: p99Ms(pairs, "chat_cassandra_request_seconds"),
      redisPingP99Ms: p99Ms(pairs, "chat_redis_ping_seconds"),
      cassandraGc: await gcPauses(from, to),
    };
  };
}

export function tailText(t: TailCauses): string {
  const ms = (v: number | null) => (v === null ? "n/a" : `${v} ms`);
  const gc = t.cassandraGc;
  return (
    `event loop p99 ${t.eventLoopP99Ms.map(ms).join(" / ")}; ` +
    `Cassandra request p99 ≤ ${ms(t.cassandraP99Ms)}; Redis ping p99 ≤ ${ms(t.redisPingP99Ms)}; ` +
    `Cassandra GC ${gc ? `${gc.pauses} pauses, max ${gc.maxMs} ms, total ${gc.totalMs} ms` : "n/a"}`
  );
}
