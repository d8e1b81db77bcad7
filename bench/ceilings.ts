// npm run bench:ceilings -- [load flags]: the two ceilings the gateway is measured against.
import { runLoad, type LoadResult } from "./load-run.js";
import { parseLoadOptions, type LoadOptions } from "./options.js";
import { endProgress, loadTable, printProgress, table, writeJson } from "./report.js";
import { storageCeiling, type StorageCeiling } from "./storage-ceiling.js";

export type Ceilings = { storage: StorageCeiling; fanOut: LoadResult };

export async function measureCeilings(opts: LoadOptions): Promise<Ceilings> {
  const storage = await storageCeiling(opts);
  const fanOut = await runLoad(
    { ...opts, target: "bare", rate: "max" },
    opts.quiet ? undefined : printProgress,
  );
  endProgress();
  return { storage, fanOut };
}

export function storageTable(s: StorageCeiling): string {
  return table(`storage ceiling: a send's storage work, ${s.inflight} messages in flight`, [
    ["messages/s", s.messagesPerSecond],
    ["Cassandra requests per message", s.requestsPerMessage],
    ["client CPU per message (ms)", s.cpuMsPerMessage],
    ["Cassandra CPU per message (ms)", s.cassandraCpuMsPerMessage ?? "n/a"],
    ["load average", `${s.loadAverage.start.join(" ")} -> ${s.loadAverage.end.join(" ")}`],
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const opts = parseLoadOptions(process.argv.slice(2));
  const ceilings = await measureCeilings(opts);
  console.log(storageTable(ceilings.storage));
  console.log(loadTable(ceilings.fanOut));
  console.log(`result: ${await writeJson("ceilings", ceilings, opts.json)}`);
}
