import { spawn } from "node:child_process";
import { expect } from "chai";
import { loadConfig } from "../gateway/config.js";
import { connectRedis } from "../gateway/fanout/redis.js";
import { createLogger } from "../gateway/logger.js";
import { StartupError } from "../gateway/errors.js";
import { connectCassandra } from "../gateway/storage/cassandra.js";
import { TestCluster } from "./support/cluster.js";
import { freePort } from "./support/ports.js";

const log = createLogger("silent", "test");

describe("startup", () => {
  it("fails with one clear line when Cassandra is missing", async () => {
    const port = await freePort();
    const cfg = loadConfig({
      CASSANDRA_CONTACT_POINTS: `127.0.0.1:${port}`,
      CASSANDRA_CONNECT_TIMEOUT_S: "1",
    });
    const err = await connectCassandra(cfg.cassandra, log).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(StartupError);
    expect((err as Error).message).to.equal(
      `Cassandra not reachable at 127.0.0.1:${port} after 1 s`,
    );
  });

  it("fails with one clear line when Redis is missing", async () => {
    const port = await freePort();
    const cfg = loadConfig({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_CONNECT_TIMEOUT_S: "1",
    });
    const err = await connectRedis(cfg.redis, log, "test").then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(StartupError);
    expect((err as Error).message).to.equal(
      `Redis not reachable at redis://127.0.0.1:${port} after 1 s`,
    );
  });

  it("the process answers /healthz 200 and /readyz 503 while storage is missing, then exits 1 with one line", async function () {
    this.timeout(30_000);
    const [httpPort, cassandraPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ["--import", "tsx", "gateway/main.ts"], {
      env: {
        ...process.env,
        PORT: String(httpPort),
        HOST: "127.0.0.1",
        LOG_LEVEL: "silent",
        CASSANDRA_CONTACT_POINTS: `127.0.0.1:${cassandraPort}`,
        CASSANDRA_CONNECT_TIMEOUT_S: "8",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      let health: Response | undefined;
      // Until it answers or gives up: starting tsx alone can take seconds on a busy machine.
      for (let i = 0; i < 400 && !health && child.exitCode === null; i++) {
        health = await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined);
        if (!health) await new Promise((r) => setTimeout(r, 50));
      }
      expect(health?.status).to.equal(200);
      const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      expect(ready.status).to.equal(503);
      expect(await exited).to.equal(1);
      const lines = stderr
        .trim()
        .split("\n")
        .filter((l) => !l.includes("npm warn"));
      expect(lines).to.deep.equal([
        `gateway: Cassandra not reachable at 127.0.0.1:${cassandraPort} after 8 s`,
      ]);
    } finally {
      child.kill("SIGKILL");
    }
  });

  describe("a running node", () => {
    const cluster = new TestCluster();
    after(() => cluster.stop());

    it("answers /healthz, /readyz and /metrics", async () => {
      const [node] = await cluster.start(1);
      const health = await fetch(`${node!.url}/healthz`);
      expect(health.status).to.equal(200);
      const ready = await fetch(`${node!.url}/readyz`);
      expect(ready.status).to.equal(200);
      expect(await ready.json()).to.deep.equal({
        ready: true,
        checks: { cassandra: true, redis: true },
      });
      const metrics = await (await fetch(`${node!.url}/metrics`)).text();
      expect(metrics).to.contain("chat_connected_sockets");
      expect((await fetch(`${node!.url}/nope`)).status).to.equal(404);
    });
  });
});
