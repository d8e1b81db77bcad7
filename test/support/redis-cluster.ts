// The local Redis Cluster of scripts/redis-cluster.sh, for the cluster fault suite.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../scripts/redis-cluster.sh", import.meta.url));
const run = promisify(execFile);

/** `scripts/redis-cluster.sh <args>`, its stdout. */
export async function redisCluster(...args: string[]): Promise<string> {
  const { stdout } = await run(SCRIPT, args, { timeout: 120_000 });
  return stdout.trim();
}
