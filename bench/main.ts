// npm run bench -- [load flags]: both ceilings, the gateway's maximum sustained send rate, then
// its latency at half that rate and the bare server at the gateway's maximum, in one run on one
// machine, summed up in one table. CPU per send falls as the rate rises (one wake-up and one
// system call carry more messages), so the bare server is compared both at its own maximum and
// at the gateway's.
import { measureCeilings, storageTable } from "./ceilings.js";
import { runLoad, type LoadResult } from "./load-run.js";
import { parseLoadOptions } from "./options.js";
import {
  checked,
  cpuTimes,
  endProgress,
  loadTable,
  percentiles,
  printProgress,
  table,
  writeJson,
} from "./report.js";
import { round } from "./stats.js";

const opts = parseLoadOptions(process.argv.slice(2));
const progress = opts.quiet ? undefined : printProgress;
const ceilings = await measureCeilings(opts);
const max = await runLoad({ ...opts, rate: "max" }, progress);
endProgress();
const halfRate = Math.max(1, Math.round(max.sends.ackedPerSecond / 2));
const half = await runLoad({ ...opts, rate: halfRate }, progress);
endProgress();
const bareAtMax = await runLoad(
  { ...opts, target: "bare", rate: max.sends.ackedPerSecond },
  progress,
);
endProgress();

const storage = ceilings.storage.messagesPerSecond;
const fanOut = ceilings.fanOut.sends.ackedPerSecond;
const gateway = max.sends.ackedPerSecond;
const ratio = (x: number) => `${round((100 * gateway) / Math.max(1, x), 1)} %`;
const cpu = (r: LoadResult) => r.cpuMsPerSend.nodes;
const cpuRatio = (bare: LoadResult) => `${cpu(max)} / ${cpu(bare)} ms = ${cpuTimes(max, bare)}`;
const perSocket = max.memory.map((m) => `${m.rssPerSocketKiB}`).join(" / ");

console.log(storageTable(ceilings.storage));
for (const r of [ceilings.fanOut, max, half, bareAtMax]) console.log(loadTable(r));
console.log(
  table(`summary: ${opts.users} users on ${opts.nodes} nodes`, [
    ["storage ceiling (messages/s)", storage],
    ["fan-out ceiling (messages/s)", fanOut],
    ["gateway sustained (acked sends/s)", gateway],
    ["gateway / storage ceiling", ratio(storage)],
    ["gateway / fan-out ceiling", ratio(fanOut)],
    ["gateway / smaller ceiling", ratio(Math.min(storage, fanOut))],
    ["at max rate", checked(max)],
    ["node CPU per send, gateway / bare, each at its maximum", cpuRatio(ceilings.fanOut)],
    [`node CPU per send, gateway / bare, both at ${gateway}/s`, cpuRatio(bareAtMax)],
    ["storage work's client CPU per message (ms)", ceilings.storage.cpuMsPerMessage],
    [
      "CPU per send at the maximum, by process (ms)",
      `nodes ${cpu(max)}, generator ${max.cpuMsPerSend.generator}, ` +
        `Cassandra ${max.cpuMsPerSend.cassandra ?? "n/a"}, Redis ${max.cpuMsPerSend.redis ?? "n/a"}`,
    ],
    ["machine at the maximum", `${max.machine.busyCores} of ${max.machine.cores} cores busy`],
    [`e2e latency at ${halfRate}/s`, percentiles(half.latencyMs)],
    [`ack latency at ${halfRate}/s`, percentiles(half.ackLatencyMs)],
    [`at ${halfRate}/s`, checked(half)],
    ["RSS per socket per node (KiB)", perSocket],
    ["connection setup (sockets/s)", max.connections.perSecond],
  ]),
);
const file = await writeJson("bench", { ceilings, max, half, bareAtMax }, opts.json);
console.log(`result: ${file}`);
