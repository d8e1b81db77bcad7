// The local three-node Cassandra cluster of scripts/cassandra.sh, for the cluster fault suite.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { sleep } from "./cluster.js";
import { openTestDb } from "./db.js";

const SCRIPT = fileURLToPath(new URL("../../scripts/cassandra.sh", import.meta.url));
const run = promisify(execFile);

/** `scripts/cassandra.sh cluster <args>`; a node's start takes a minute on a busy machine. */
export async function cassandraCluster(...args: string[]): Promise<string> {
  const { stdout } = await run(SCRIPT, ["cluster", ...args], { timeout: 300_000 });
  return stdout.trim();
}

/**
 * Starts whatever node is down and waits until the run's keyspace answers a LOCAL_QUORUM read,
 * so a suite does not begin while a restarted node is still joining.
 */
export async function cassandraClusterWhole(timeoutMs = 180_000) {
  await cassandraCluster("start");
  const db = await openTestDb();
  const deadline = Date.now() + timeoutMs;
  try {
    while (!(await db.ping(5000))) {
      if (Date.now() > deadline) throw new Error("no LOCAL_QUORUM read on the cluster");
      await sleep(1000);
    }
  } finally {
    await db.client.shutdown();
  }
}
