// The local three-node Cassandra cluster of scripts/cassandra.sh, for the cluster fault suite.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../scripts/cassandra.sh", import.meta.url));
const run = promisify(execFile);

/** `scripts/cassandra.sh cluster <args>`; a node's start takes a minute on a busy machine. */
export async function cassandraCluster(...args: string[]): Promise<string> {
  const { stdout } = await run(SCRIPT, ["cluster", ...args], { timeout: 300_000 });
  return stdout.trim();
}
