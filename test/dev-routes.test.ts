// The development-mode HTTP routes: the web app at / and the dev-token endpoint of its login
// page; neither exists when NODE_ENV=production.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
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

  it("says how to build the app when it is not built", async () => {
    const [node] = await cluster.start(1, { WEB_ROOT: join(webRoot, "missing") });
    const res = await fetch(`${node!.url}/`);
    expect(res.status).to.equal(404);
    expect(await res.text()).to.contain("npm run build:web");
  });

  it("has neither in production", async () => {
    const [node] = await cluster.start(1, {
      NODE_ENV: "production",
      JWT_SECRET: "a-production-secret",
      WEB_ROOT: webRoot,
    });
    expect((await fetch(`${node!.url}/`)).status).to.equal(404);
    expect((await mint(node!.url, {})).status).to.equal(404);
    expect((await fetch(`${node!.url}/readyz`)).status).to.equal(200);
  });
});
