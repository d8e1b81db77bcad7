// npm run bench:curve -- [load flags]: the latency curve. The gateway's maximum sustained send
// rate first, then the gateway and the bare fan-out server (Socket.IO + Redis adapter, no
// storage) each at 10, 25, 50 and 75 % of that maximum: acknowledgement and end-to-end p50, p95
// and p99 per rate, with what each phase's tail went to. Writes a table, JSON and an SVG chart
// (bench/results/, copied to docs/latency-curve.svg).
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runLoad, type LoadResult } from "./load-run.js";
import { RESULTS_DIR, ROOT } from "./nodes.js";
import { parseLoadOptions } from "./options.js";
import {
  checked,
  cpuTimes,
  endProgress,
  percentiles,
  printProgress,
  table,
  writeJson,
} from "./report.js";
import { round } from "./stats.js";
import { chart, panel } from "./svg.js";
import { tailText } from "./tail-causes.js";

const SHARES = [0.1, 0.25, 0.5, 0.75];

const opts = parseLoadOptions(process.argv.slice(2));
const progress = opts.quiet ? undefined : printProgress;
const run = async (target: "gateway" | "bare", rate: number | "max") => {
  const r = await runLoad({ ...opts, target, rate }, progress);
  endProgress();
  return r;
};

const max = await run("gateway", "max");
const rates = SHARES.map((s) => Math.max(1, Math.round(max.sends.ackedPerSecond * s)));
const points: { rate: number; gateway: LoadResult; bare: LoadResult }[] = [];
for (const rate of rates)
  points.push({ rate, gateway: await run("gateway", rate), bare: await run("bare", rate) });

const rows: [string, string][] = [
  ["gateway maximum", `${max.sends.ackedPerSecond} acked sends/s (${checked(max)})`],
];
for (const { rate, gateway, bare } of points) {
  const share = `${Math.round((100 * rate) / Math.max(1, max.sends.ackedPerSecond))} %`;
  rows.push(
    [`${rate}/s (${share}) gateway ack`, percentiles(gateway.ackLatencyMs)],
    [`${rate}/s (${share}) gateway e2e`, percentiles(gateway.latencyMs)],
    [`${rate}/s (${share}) bare e2e`, percentiles(bare.latencyMs)],
    [
      `${rate}/s (${share}) node CPU per send`,
      `gateway ${gateway.cpuMsPerSend.nodes} ms, bare ${bare.cpuMsPerSend.nodes} ms ` +
        `(${cpuTimes(gateway, bare)}); ` +
        `Cassandra ${gateway.cpuMsPerSend.cassandra ?? "n/a"} ms`,
    ],
    [
      `${rate}/s (${share}) machine`,
      `gateway phase ${gateway.machine.busyCores}, bare phase ${bare.machine.busyCores} ` +
        `of ${gateway.machine.cores} cores busy`,
    ],
    [`${rate}/s (${share}) gateway tail`, tailText(gateway.tail)],
    [`${rate}/s (${share}) checked`, `gateway ${checked(gateway)}; bare ${checked(bare)}`],
  );
}
const title = `Latency by send rate: ${opts.users} users on ${opts.nodes} nodes (gateway maximum ${max.sends.ackedPerSecond}/s)`;
console.log(table(title, rows));

const p = (r: LoadResult, key: "p50" | "p99", ack = false) =>
  (ack ? r.ackLatencyMs : r.latencyMs)[key] ?? 0;
const line = (name: string, value: (x: (typeof points)[number]) => number) => ({
  name,
  points: points.map((x): [number, number] => [x.rate, round(value(x), 1)]),
});
const svg = chart(
  title,
  [
    panel(0, "p99 latency (ms)", "sends per second", rates, [
      line("gateway ack p99", (x) => p(x.gateway, "p99", true)),
      line("gateway e2e p99", (x) => p(x.gateway, "p99")),
      line("bare e2e p99", (x) => p(x.bare, "p99")),
    ]),
    panel(380, "p50 latency (ms)", "sends per second", rates, [
      line("gateway ack p50", (x) => p(x.gateway, "p50", true)),
      line("gateway e2e p50", (x) => p(x.gateway, "p50")),
      line("bare e2e p50", (x) => p(x.bare, "p50")),
    ]),
  ],
  ["gateway ack", "gateway e2e", "bare e2e"],
);
const file = await writeJson("curve", { options: opts, max, points }, opts.json);
await mkdir(RESULTS_DIR, { recursive: true });
const svgFile = path.join(RESULTS_DIR, "latency-curve.svg");
await writeFile(svgFile, svg);
await copyFile(svgFile, path.join(ROOT, "docs", "latency-curve.svg"));
console.log(`result: ${file}\nchart: ${svgFile} (copied to docs/latency-curve.svg)`);
