// Gateway (or bare Socket.IO) nodes as child processes, so each has its own event loop and its
// memory can be read from /proc.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { allBudgets } from "../gateway/config.js";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const RESULTS_DIR = path.join(ROOT, "bench", "results");

export type NodeKind = "gateway" | "bare";

export type NodeProcess = {
  id: string;
  url: string;
  pid: number;
  child: ChildProcess;
  /** The node's inspector (`http://127.0.0.1:<port>`), when started with `inspect`. */
  inspector?: string;
};

const ENTRY: Record<NodeKind, string> = {
  gateway: "gateway/main.ts",
  bare: "bench/bare-server.ts",
};

/** The gateway as `npm start` runs it, built by `npm run build`. */
/** The same entries as tsc builds them (`npm run build`, `npm run build:bench`). */
const COMPILED: Record<NodeKind, string> = {
  gateway: "dist/gateway/main.js",
  bare: "dist/bench-build/bench/bare-server.js",
};

/** A port that was free a moment ago; the node binds it right after. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(node: NodeProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (node.child.exitCode !== null) throw new Error(`${node.id} exited (${node.child.exitCode})`);
    try {
      const res = await fetch(`${node.url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${node.id} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts `count` nodes against the keyspace (already migrated) and waits until all are ready. */
export async function startNodes(
  kind: NodeKind,
  count: number,
  env: Record<string, string>,
  opts: { inspect?: boolean; compiled?: boolean } = {},
): Promise<NodeProcess[]> {
  await mkdir(RESULTS_DIR, { recursive: true });
  // tsx compiles with esbuild's keepNames: every function expression gets a `name` property
  // defined on it, which costs each closure a property dictionary that tsc's output does not.
  if (opts.compiled && !existsSync(path.join(ROOT, COMPILED[kind]))) {
    throw new Error(`${COMPILED[kind]} is missing: run npm run build && npm run build:bench first`);
  }
  const entry = opts.compiled ? [COMPILED[kind]] : ["--import", "tsx", ENTRY[kind]];
  const nodes = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = `bench-${kind}-${i}`;
      const port = await freePort();
      const log = createWriteStream(path.join(RESULTS_DIR, `${id}.log`));
      // BENCH_NODE_ARGS passes flags to the nodes' node binary, e.g. --cpu-prof to profile them.
      const nodeArgs = process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
      // A loopback inspector, so the bench can ask for a full garbage collection (collectGarbage).
      const inspectPort = opts.inspect ? await freePort() : null;
      if (inspectPort) nodeArgs.push(`--inspect=127.0.0.1:${inspectPort}`);
      const child = spawn(process.execPath, [...nodeArgs, ...entry], {
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_ENV: "development",
          HOST: "127.0.0.1",
          PORT: String(port),
          NODE_ID: id,
          LOG_LEVEL: "warn",
          MIGRATE_ON_START: "false",
          // Every virtual user connects from 127.0.0.1 and sends far more than a person: the
          // limits stay on (their cost is measured) with ceilings the load stays under.
          HANDSHAKES_PER_IP_PER_S: "100000",
          ...allBudgets("1000000/1"),
          MAX_REQUESTS_IN_FLIGHT: "10000",
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      return {
        id,
        url: `http://127.0.0.1:${port}`,
        pid: child.pid ?? 0,
        child,
        ...(inspectPort ? { inspector: `http://127.0.0.1:${inspectPort}` } : {}),
      };
    }),
  );
  try {
    await Promise.all(nodes.map((n) => waitReady(n, 60_000)));
  } catch (err) {
    await stopNodes(nodes);
    throw err;
  }
  return nodes;
}

export async function stopNodes(nodes: NodeProcess[]) {
  await Promise.all(
    nodes.map(
      (n) =>
        new Promise<void>((resolve) => {
          if (n.child.exitCode !== null || n.child.signalCode !== null) return resolve();
          const kill = setTimeout(() => n.child.kill("SIGKILL"), 10_000);
          n.child.once("exit", () => {
            clearTimeout(kill);
            resolve();
          });
          n.child.kill("SIGTERM");
        }),
    ),
  );
}

/** Resident memory of a process in bytes (Linux). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** The V8 heap in use, from the node's Prometheus metrics (gateway nodes only). */
export async function heapUsedBytes(node: NodeProcess): Promise<number | null> {
  try {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const value = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
    return value ? Number(value) : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system) a process has used, in seconds (Linux, 100 ticks per second). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** This process's soft limit on open files (Linux), which children inherit; Infinity if unlimited. */
export async function openFileLimit(): Promise<number> {
  const limits = await readFile("/proc/self/limits", "utf8");
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  return soft === undefined || soft === "unlimited" ? Infinity : Number(soft);
}

/**
 * A full garbage collection in a node started with `inspect` (HeapProfiler.collectGarbage over
 * its inspector), so a memory sample holds what is live rather than what is waiting to be freed.
 */
export async function collectGarbage(node: NodeProcess): Promise<void> {
  if (!node.inspector) throw new Error(`${node.id} has no inspector`);
  const targets = (await (await fetch(`${node.inspector}/json/list`)).json()) as {
    webSocketDebuggerUrl?: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`${node.id}: no inspector target`);
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () =>
        ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })),
      );
      ws.on("message", (data) => {
        const answer = JSON.parse(String(data)) as { id?: number; error?: { message: string } };
        if (answer.id !== 1) return;
        if (answer.error) reject(new Error(`${node.id}: ${answer.error.message}`));
        else resolve();
      });
      ws.once("error", reject);
    });
  } finally {
    ws.close();
  }
}
