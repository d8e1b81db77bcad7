// npm run bench:scaling -- [--node-counts 2,4,8] [load flags]: fan-out cost against the number of
// nodes. The same users and send rate on 2, 4 and 8 bare fan-out nodes (Socket.IO and the Redis
// adapter with the gateway's rooms, no storage), for the classic adapter, the sharded adapter
// with one broadcast to all recipients' rooms (on a channel every node hears), and the sharded
// adapter with one broadcast per recipient's room, as the gateway sends with
// REDIS_ADAPTER=sharded. A private redis-server is started so its counters see only this bench.
// Writes a table, JSON and an SVG chart (bench/results/, copied to docs/).
import { spawn } from "node:child_process";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import path from "node:path";
import { Redis } from "ioredis";
import { runLoad, type LoadResult } from "./load-run.js";
import { RESULTS_DIR, ROOT } from "./nodes.js";
import { parseLoadOptions } from "./options.js";
import { endProgress, printProgress, writeJson } from "./report.js";
import { round } from "./stats.js";
import { chart, panel, type Series } from "./svg.js";

type Variant = { name: string; adapter: "classic" | "sharded"; emit: "rooms" | "per-room" };

const VARIANTS: Variant[] = [
  { name: "classic", adapter: "classic", emit: "rooms" },
  { name: "sharded, all rooms", adapter: "sharded", emit: "rooms" },
  { name: "sharded, per room", adapter: "sharded", emit: "per-room" },
];

/** The bench's defaults; flags given on the command line come later and win. */
const DEFAULT_ARGS = ["--target", "bare", "--users", "1000", "--rate", "300"];
const MORE_DEFAULTS = ["--duration", "15", "--ramp", "3", "--grace", "5", "--idle", "5", "--quiet"];

export type ScalingRow = {
  variant: string;
  nodes: number;
  ackedPerSecond: number;
  deliveriesPerSend: number;
  /** Node CPU (all nodes together) per delivered message, microseconds. */
  cpuUsPerDelivery: number;
  /** The same less what the nodes spend idle over the same time: the cost of the fan-out. */
  netCpuUsPerDelivery: number;
  /** The net cost divided by the node count: what one node spends per delivered message. */
  cpuUsPerDeliveryPerNode: number;
  redisPublishesPerSend: number;
  redisOutputBytesPerSend: number;
  redisCpuUsPerSend: number;
  lost: number;
  duplicated: number;
  errors: number;
};

function args(argv: string[]): { counts: number[]; rest: string[] } {
  const i = argv.indexOf("--node-counts");
  if (i < 0) return { counts: [2, 4, 8], rest: argv };
  const counts = (argv[i + 1] ?? "").split(",").map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("--node-counts: 2,4,8");
  return { counts, rest: [...argv.slice(0, i), ...argv.slice(i + 2)] };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const answer = (yes: boolean) => () => {
      socket.destroy();
      resolve(yes);
    };
    socket.once("connect", answer(true));
    socket.once("error", answer(false));
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  for (let i = 0; !(await listening(port)); i++) {
    if (i > 100) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = new Redis(port, "127.0.0.1");
  return { url: `redis://127.0.0.1:${port}`, client, stop: () => child.kill("SIGKILL") };
}

type RedisCounters = { publishes: number; outputBytes: number; cpuS: number };

async function redisCounters(client: Redis): Promise<RedisCounters> {
  const info = await client.info("all");
  const field = (re: RegExp) => Number(re.exec(info)?.[1] ?? 0);
  return {
    publishes: field(/^cmdstat_publish:calls=(\d+)/m) + field(/^cmdstat_spublish:calls=(\d+)/m),
    outputBytes: field(/^total_net_output_bytes:(\d+)/m),
    cpuS: field(/^used_cpu_sys:([\d.]+)/m) + field(/^used_cpu_user:([\d.]+)/m),
  };
}

function row(
  v: Variant,
  nodes: number,
  r: LoadResult,
  before: RedisCounters,
  after: RedisCounters,
) {
  const acked = Math.max(1, r.sends.acked);
  const deliveriesPerSend = r.sends.deliveries / acked;
  const perDelivery = (ms: number) => (ms * 1000) / Math.max(1e-9, deliveriesPerSend);
  const cpuUsPerDelivery = perDelivery(r.cpuMsPerSend.nodes);
  const netCpuUsPerDelivery = perDelivery(r.cpuMsPerSend.nodes - r.cpuMsPerSend.nodesIdle);
  return {
    variant: v.name,
    nodes,
    ackedPerSecond: r.sends.ackedPerSecond,
    deliveriesPerSend: round(deliveriesPerSend, 2),
    cpuUsPerDelivery: round(cpuUsPerDelivery, 1),
    netCpuUsPerDelivery: round(netCpuUsPerDelivery, 1),
    cpuUsPerDeliveryPerNode: round(netCpuUsPerDelivery / nodes, 1),
    redisPublishesPerSend: round((after.publishes - before.publishes) / acked, 2),
    redisOutputBytesPerSend: round((after.outputBytes - before.outputBytes) / acked, 0),
    redisCpuUsPerSend: round(((after.cpuS - before.cpuS) * 1e6) / acked, 1),
    lost: r.sends.lost,
    duplicated: r.sends.duplicated,
    errors: Object.values(r.errors).reduce((a, b) => a + b, 0),
  } satisfies ScalingRow;
}

export function scalingTable(rows: ScalingRow[]): string {
  const head = [
    "adapter",
    "nodes",
    "acked/s",
    "node CPU µs/delivery (all nodes)",
    "less idle",
    "less idle, per node",
    "Redis publishes/send",
    "Redis out bytes/send",
    "Redis CPU µs/send",
    "lost/dup/errors",
  ];
  const body = rows.map((r) => [
    r.variant,
    String(r.nodes),
    String(r.ackedPerSecond),
    String(r.cpuUsPerDelivery),
    String(r.netCpuUsPerDelivery),
    String(r.cpuUsPerDeliveryPerNode),
    String(r.redisPublishesPerSend),
    String(r.redisOutputBytesPerSend),
    String(r.redisCpuUsPerSend),
    `${r.lost}/${r.duplicated}/${r.errors}`,
  ]);
  const lines = [head, head.map(() => "---"), ...body].map((cells) => `| ${cells.join(" | ")} |`);
  return lines.join("\n");
}

/** Two line charts side by side: CPU per delivery and Redis bytes per send, by node count. */
export function scalingSvg(rows: ScalingRow[], title: string): string {
  const counts = [...new Set(rows.map((r) => r.nodes))].sort((a, b) => a - b);
  const variants = [...new Set(rows.map((r) => r.variant))];
  const series = (value: (r: ScalingRow) => number): Series[] =>
    variants.map((variant) => ({
      name: variant,
      points: rows
        .filter((r) => r.variant === variant)
        .map((r): [number, number] => [r.nodes, value(r)]),
    }));
  return chart(
    title,
    [
      panel(
        0,
        "node CPU per delivered message, all nodes, less idle (µs)",
        "gateway nodes",
        counts,
        series((r) => r.netCpuUsPerDelivery),
      ),
      panel(
        380,
        "Redis output per send (bytes)",
        "gateway nodes",
        counts,
        series((r) => r.redisOutputBytesPerSend),
      ),
    ],
    variants,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { counts, rest } = args(process.argv.slice(2));
  const opts = parseLoadOptions([...DEFAULT_ARGS, ...MORE_DEFAULTS, ...rest]);
  const redis = await startRedis();
  // The nodes inherit this environment (bench/nodes.ts): our Redis, not the shared one.
  process.env.REDIS_URL = redis.url;
  const rows: ScalingRow[] = [];
  try {
    for (const nodes of counts) {
      for (const v of VARIANTS) {
        process.env.BENCH_EMIT = v.emit;
        const before = await redisCounters(redis.client);
        const result = await runLoad(
          { ...opts, nodes, adapter: v.adapter },
          opts.quiet ? undefined : printProgress,
        );
        endProgress();
        const r = row(v, nodes, result, before, await redisCounters(redis.client));
        rows.push(r);
        console.error(`scaling: ${JSON.stringify(r)}`);
      }
    }
  } finally {
    redis.client.disconnect();
    redis.stop();
  }
  const title =
    `Fan-out cost by node count: ${opts.users} users, ${opts.rate} sends/s, ` +
    `${Math.round(opts.directShare * 100)} % direct, groups of ${opts.groupSize}`;
  console.log(`${title}\n\n${scalingTable(rows)}\n`);
  const file = await writeJson("scaling", { options: opts, rows }, opts.json);
  await mkdir(RESULTS_DIR, { recursive: true });
  const svg = path.join(RESULTS_DIR, "scaling-fanout.svg");
  await writeFile(svg, scalingSvg(rows, title));
  await copyFile(svg, path.join(ROOT, "docs", "scaling-fanout.svg"));
  console.log(`result: ${file}\nchart: ${svg} (copied to docs/scaling-fanout.svg)`);
  const failed = rows.some((r) => r.lost + r.duplicated > 0);
  process.exit(failed ? 1 : 0);
}
