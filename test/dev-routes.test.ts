// The development-mode HTTP routes: the web app at / and the dev-token endpoint of its login
// page; neither exists when NODE_ENV=production.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import jwt from "jsonwebtoken";
import { loadConfig } from "../gateway/config.js";
import { createLogger } from "../gateway/logger.js";
import { startGateway } from "../gateway/node.js";
import { newUserId, ok, TestCluster } from "./support/cluster.js";

describe("development routes", () => {
  const cluster = new TestCluster();
  const webRoot = mkdtempSync(join(tmpdir(), "web-root-"));
  writeFileSync(join(webRoot, "index.html"), "<!doctype html><title>chat app</title>");

  after(() => rmSync(webRoot, { recursive: true, force: true }));
  afterEach(() => cluster.stop());

  const mint = (url: string, body: unknown) =>
    fetch(`${url}/dev/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("serves the web app at / and mints tokens the gateway accepts", async () => {
    const [node] = await cluster.start(1, { WEB_ROOT: webRoot });
    const page = await fetch(`${node!.url}/`);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.contain("<title>chat app</title>");
    expect((await fetch(`${node!.url}/healthz`)).status).to.equal(200);

    const userId = newUserId();
    const res = await mint(node!.url, { userId });
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { userId: string; token: string };
    expect(body.userId).to.equal(userId);
    const client = await cluster.connect(node!, userId, { token: body.token });
    await ok(client, "conversations:list", {});

    const fresh = (await (await mint(node!.url, {})).json()) as { userId: string };
    expect(fresh.userId)
      .to.match(/^[0-9a-f-]{36}$/)
      .and.not.equal(userId);
    expect((await mint(node!.url, { userId: "alice" })).status).to.equal(400);
    expect((await fetch(`${node!.url}/dev/token`)).status).to.equal(405);
  });

  it("mints tokens of the lifetime asked for (ttlSeconds, bounded), an hour by default", async () => {
    const [node] = await cluster.start(1);
    const lifetime = async (body: object) => {
      const { token } = (await (await mint(node!.url, body)).json()) as { token: string };
      const { iat, exp } = jwt.decode(token) as { iat: number; exp: number };
      return exp - iat;
    };
    expect(await lifetime({})).to.equal(3600);
    expect(await lifetime({ ttlSeconds: 5 })).to.equal(5);
    expect(await lifetime({ userId: newUserId(), ttlSeconds: 86_400 })).to.equal(86_400);
    for (const ttlSeconds of [4, 86_401, 1.5, "60", -1]) {
      const res = await mint(node!.url, { ttlSeconds });
      expect(res.status, JSON.stringify(ttlSeconds)).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.contain("ttlSeconds");
    }
  });

  it("mints tokens with the display name asked for, which the other participant is shown", async () => {
    const [node] = await cluster.start(1);
    const minted = async (body: object) =>
      (await (await mint(node!.url, body)).json()) as { userId: string; token: string };
    const alice = await minted({ name: " Alice " });
    expect((jwt.decode(alice.token) as { name?: string }).name).to.equal("Alice");
    expect(jwt.decode((await minted({})).token)).to.not.have.property("name");

    await cluster.connect(node!, alice.userId, { token: alice.token });
    const bob = await cluster.connect(node!, newUserId());
    const { conversation } = await ok(bob, "conversation:open", { peerId: alice.userId });
    expect(conversation.names).to.deep.equal({ [alice.userId]: "Alice" });

    for (const name of ["", "  ", "x".repeat(65), "a\nb", 7]) {
      const res = await mint(node!.url, { name });
      expect(res.status, JSON.stringify(name)).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.contain("name");
    }
  });

  it("says how to build the app when it is not built", async () => {
    const [node] = await cluster.start(1, { WEB_ROOT: join(webRoot, "missing") });
    const res = await fetch(`${node!.url}/`);
    expect(res.status).to.equal(404);
    expect(await res.text()).to.contain("npm run build:web");
  });

  it("has neither in production", async () => {
    const [node] = await cluster.start(1, {
      NODE_ENV: "production",
      JWT_SECRET: randomBytes(32).toString("hex"),
      WEB_ROOT: webRoot,
    });
    expect((await fetch(`${node!.url}/`)).status).to.equal(404);
    expect((await mint(node!.url, {})).status).to.equal(404);
    expect((await fetch(`${node!.url}/readyz`)).status).to.equal(200);
  });

  it("listens on loopback only unless HOST is set", async function () {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    if (!external) return this.skip(); // no other interface to be reached on
    // The run's keyspace and stack from the environment, HOST left unset.
    const env = { ...process.env };
    delete env.HOST;
    const config = loadConfig({
      ...env,
      NODE_ENV: "development",
      PORT: "0",
      MIGRATE_ON_START: "false",
    });
    expect(config.host).to.equal("127.0.0.1");
    const node = await startGateway(config, { logger: createLogger("silent", "loopback") });
    try {
      expect((await fetch(`http://127.0.0.1:${node.port}/healthz`)).status).to.equal(200);
      const outside = await mint(`http://${external}:${node.port}`, {}).then(
        (res) => res.status,
        () => "refused",
      );
      expect(outside).to.equal("refused");
    } finally {
      await node.stop();
    }
  });
});
