// HAProxy (Debian's package, installed when missing) in front of gateway processes, configured
// from haproxy.cfg next to this file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitForPort } from "./ports.js";
import { spawnChild, type Child } from "./processes.js";
import { ensureCommand } from "./system-package.js";

const TEMPLATE = fileURLToPath(new URL("haproxy.cfg", import.meta.url));

export type LoadBalancer = { child: Child; url: string; stop(): Promise<void> };

export async function startLoadBalancer(backendPorts: number[]): Promise<LoadBalancer> {
  ensureCommand("haproxy", "haproxy");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "chat-lb-"));
  const config = join(dir, "haproxy.cfg");
  const servers = backendPorts.map((p, i) => `    server node${i} 127.0.0.1:${p} check`);
  writeFileSync(
    config,
    readFileSync(TEMPLATE, "utf8")
      .replace("{{PORT}}", String(port))
      .replace("{{SERVERS}}", servers.join("\n")),
  );
  // -db: stay in the foreground, so the test owns the process.
  const child = spawnChild("haproxy", "haproxy", ["-db", "-f", config]);
  const stop = async () => {
    await child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port);
  } catch (err) {
    await stop();
    throw new Error(`haproxy did not start: ${(err as Error).message}\n${child.log}`, {
      cause: err,
    });
  }
  return { child, url: `http://127.0.0.1:${port}`, stop };
}
