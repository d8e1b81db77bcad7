// A Redis of the test's own (Debian's redis-server, installed when missing), which the test may
// kill and start again on the same port; the shared Redis is never touched.
import { freePort, waitForPort } from "./ports.js";
import { spawnChild, type Child } from "./processes.js";
import { ensureCommand } from "./system-package.js";

export class RedisProcess {
  private child: Child | undefined;
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    ensureCommand("redis-server", "redis-server");
    if (!this.port) this.port = await freePort();
    const child = spawnChild("redis", "redis-server", [
      "--bind",
      "127.0.0.1",
      "--port",
      String(this.port),
      "--save",
      "",
      "--appendonly",
      "no",
    ]);
    this.child = child;
    try {
      await waitForPort(this.port);
    } catch (err) {
      await child.kill();
      throw new Error(`redis-server did not start: ${(err as Error).message}\n${child.log}`, {
        cause: err,
      });
    }
    return this;
  }

  /** SIGKILL: no goodbye to the connected clients, as in a crash. */
  async kill() {
    await this.child?.kill("SIGKILL");
  }
}
