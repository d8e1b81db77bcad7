// A gateway node as a real process (`node --import tsx gateway/main.ts`), against the test
// run's keyspace.
import { signDevToken } from "../../gateway/auth/dev-token.js";
import { allBudgets } from "../../gateway/config.js";
import { testConfig } from "./cluster.js";
import { freePort } from "./ports.js";
import { spawnChild, type Child } from "./processes.js";

export type GatewayProcess = { child: Child; port: number; url: string; nodeId: string };

/** Resolves once GET /readyz answers `status`, or rejects after the timeout. */
export async function waitForReady(url: string, timeoutMs = 30_000, status = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === status) return;
    if (Date.now() > deadline) throw new Error(`${url}/readyz did not answer ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startGatewayProcess(
  nodeId: string,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawnChild(nodeId, process.execPath, ["--import", "tsx", "gateway/main.ts"], {
    env: {
      ...process.env,
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: String(port),
      NODE_ID: nodeId,
      MIGRATE_ON_START: "false",
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
      // The fault tests' load is faster than one user may send in production; limits have
      // their own tests.
      ...allBudgets("1000000/1"),
      MAX_REQUESTS_IN_FLIGHT: "10000",
      HANDSHAKES_PER_IP_PER_S: "100000",
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitForReady(url),
      child.exited.then(({ code }) => {
        throw new Error(`exited with ${code}`);
      }),
    ]);
  } catch (err) {
    await child.kill();
    throw new Error(`gateway ${nodeId} did not start: ${(err as Error).message}\n${child.log}`, {
      cause: err,
    });
  }
  return { child, port, url, nodeId };
}

/** A token the gateway processes accept (they share the test configuration's JWT settings). */
export const tokenFor = (userId: string) => signDevToken(testConfig(), userId, 3600);

/** One sample of a Prometheus metric from a node's /metrics, 0 when absent. */
export async function metricValue(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
