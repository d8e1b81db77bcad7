// Output of a run: the live progress line, the tables at the end and the JSON result.
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { LoadResult, Progress } from "./load-run.js";
import type { NodeMemory } from "./memory.js";
import { RESULTS_DIR } from "./nodes.js";
import { round, type Percentiles } from "./stats.js";
import { tailText } from "./tail-causes.js";

export function printProgress(p: Progress) {
  const line =
    `[${p.phase.padEnd(13)}] ${p.elapsedS.toFixed(0).padStart(4)} s  sockets ${p.sockets}  ` +
    `sent ${p.sent}  acked ${p.acked} (${p.ackedPerS}/s)  delivered ${p.delivered}  ` +
    `in flight ${p.inflight}  errors ${p.errors}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(120)}`);
  else process.stderr.write(`${line}\n`);
}

export function endProgress() {
  if (process.stderr.isTTY) process.stderr.write("\n");
}

/** A two-column table, with aligned values. */
export function table(title: string, rows: [string, string | number][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  const body = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n");
  return `${title}\n${body}\n`;
}

const errorsText = (errors: Record<string, number>) =>
  Object.entries(errors)
    .map(([code, n]) => `${code} ${n}`)
    .join(", ") || "none";

export const percentiles = (l: Percentiles) =>
  `p50 ${l.p50}  p95 ${l.p95}  p99 ${l.p99}  max ${l.max} ms (n=${l.count})`;

const memoryRows = (label: string, memory: NodeMemory[]) =>
  memory.map((m): [string, string] => [
    `${label} ${m.node}`,
    `${m.sockets} sockets, RSS ${m.rssBeforeMiB} -> ${m.rssAfterMiB} MiB, ` +
      `${m.rssPerSocketKiB} KiB RSS` +
      (m.heapPerSocketKiB === null ? "" : ` / ${m.heapPerSocketKiB} KiB heap`) +
      " per socket",
  ]);

/** What a run's deliveries were checked to be: lost, duplicated, errors of all kinds. */
export const checked = (r: LoadResult) =>
  `lost ${r.sends.lost}, duplicated ${r.sends.duplicated}, errors ${Object.values(r.errors).reduce((a, b) => a + b, 0)}`;

/** How many times the bare server's node CPU per send the gateway's is, e.g. "2.1x". */
export const cpuTimes = (gateway: LoadResult, bare: LoadResult) =>
  `${round(gateway.cpuMsPerSend.nodes / Math.max(0.001, bare.cpuMsPerSend.nodes), 1)}x`;

export function loadTable(r: LoadResult): string {
  const o = r.options;
  const l = r.latencyMs;
  return table(
    `load: ${o.target}, ${o.users} users on ${o.nodes} nodes, rate ${o.rate}` +
      `${o.rate === "max" ? ` (${o.inflight} in flight)` : "/s"}, ${o.rampS} s ramp + ${o.durationS} s` +
      (o.compiled ? ", nodes from dist/" : "") +
      (o.generators > 0 ? `, ${o.generators} generator processes` : "") +
      (o.sourceAddresses > 1 ? `, from 127.0.0.1-${o.sourceAddresses}` : ""),
    [
      [
        "connections",
        `${r.connections.sockets} in ${r.connections.seconds} s (${r.connections.perSecond}/s)`,
      ],
      [
        "conversations",
        `${r.conversations.direct} direct, ${r.conversations.group} groups of ${o.groupSize}`,
      ],
      ["acked sends/s (steady)", r.sends.ackedPerSecond],
      ["deliveries/s (steady)", r.sends.deliveriesPerSecond],
      ["sent / acked", `${r.sends.sent} / ${r.sends.acked}`],
      ["deliveries", r.sends.deliveries],
      ["e2e latency across nodes, after the ramp", percentiles(l)],
      ["ack latency (stored), after the ramp", percentiles(r.ackLatencyMs)],
      [
        "CPU per acked send",
        `${r.cpuMsPerSend.nodes} ms in the nodes, ${r.cpuMsPerSend.generator} ms in the generator, ` +
          `${r.cpuMsPerSend.cassandra ?? "n/a"} ms in Cassandra, ${r.cpuMsPerSend.redis ?? "n/a"} ms in Redis`,
      ],
      ["machine CPU (send phase)", `${r.machine.busyCores} of ${r.machine.cores} cores busy`],
      [
        "lost / duplicated / unexpected",
        `${r.sends.lost} / ${r.sends.duplicated} / ${r.sends.unexpected}`,
      ],
      ["errors", errorsText(r.errors)],
      ["tail causes (send phase)", tailText(r.tail)],
      ...memoryRows("memory", r.memory),
      ...memoryRows("memory after a full GC", r.memoryAfterGc ?? []),
      ["load average", `${r.loadAverage.start.join(" ")} -> ${r.loadAverage.end.join(" ")}`],
    ],
  );
}

/** Writes a result file under bench/results unless a path is given; returns the path. */
export async function writeJson(name: string, value: unknown, file: string | null) {
  const target =
    file ??
    path.join(RESULTS_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(
    target,
    `${JSON.stringify({ machine: machine(), ...(value as object) }, null, 2)}\n`,
  );
  return target;
}

export function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}
