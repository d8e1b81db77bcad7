// Where a phase's CPU went besides the nodes and the generator: the local Cassandra (its pid file
// from scripts/cassandra.sh), Redis (its own INFO counters, wherever it runs) and the machine as
// a whole (/proc/stat). At the maximum these show the cores running out, which is what bounds the
// rate when every process shares one machine.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Redis } from "ioredis";
import { cpuSeconds, ROOT } from "./nodes.js";

const CASSANDRA_PID_FILE = path.join(ROOT, ".local", "cassandra", "cassandra.pid");

export type MachineCpu = {
  /** CPU seconds of the local Cassandra and of Redis; null where not found. */
  cassandraS: number | null;
  redisS: number | null;
  /** Busy and total CPU seconds of the whole machine, over all cores. */
  busyS: number;
  totalS: number;
};

async function cassandraCpu(): Promise<number | null> {
  const pid = Number((await readFile(CASSANDRA_PID_FILE, "utf8").catch(() => "")).trim());
  return pid > 0 ? cpuSeconds(pid).catch(() => null) : null;
}

async function redisCpu(redis: Redis): Promise<number | null> {
  const info = await redis.info("cpu").catch(() => "");
  const field = (name: string) => Number(new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1]);
  const s = field("used_cpu_user") + field("used_cpu_sys");
  return Number.isFinite(s) ? s : null;
}

/** Busy and total jiffies of all cores, in seconds (100 ticks per second). */
async function machineCpu(): Promise<{ busyS: number; totalS: number }> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busyS: (total - idle) / 100, totalS: total / 100 };
}

async function sample(redis: Redis): Promise<MachineCpu> {
  const [cassandraS, redisS, machine] = await Promise.all([
    cassandraCpu(),
    redisCpu(redis),
    machineCpu(),
  ]);
  return { cassandraS, redisS, ...machine };
}

/** Starts counting; the returned function ends it and gives what was used meanwhile. */
export async function watchMachineCpu(): Promise<() => Promise<MachineCpu>> {
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  await redis.connect().catch(() => undefined);
  const before = await sample(redis);
  return async () => {
    const after = await sample(redis);
    redis.disconnect();
    const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
    return {
      cassandraS: diff(after.cassandraS, before.cassandraS),
      redisS: diff(after.redisS, before.redisS),
      busyS: after.busyS - before.busyS,
      totalS: after.totalS - before.totalS,
    };
  };
}
