// Token refresh on a live socket (docs/protocol.md, "Session expiry"): `session:expiring` before
// `exp`, `auth:refresh` moving the expiry, its refusals keeping the old one, and the client
// library refreshing by itself. Tokens live a few seconds; SESSION_EXPIRING_S is 2.
import { expect } from "chai";
import jwt from "jsonwebtoken";
import { ChatClient, type StatusChange } from "../shared/client/index.js";
import type { ErrorCode, Failure, SessionExpiringEvent } from "../shared/protocol.js";
import { expectFailure, raw } from "./support/answers.js";
import {
  type Client,
  collect,
  eventually,
  newUserId,
  ok,
  request,
  sleep,
  TestCluster,
} from "./support/cluster.js";
import { metricValue } from "./support/gateway-process.js";

const EXPIRING_S = 2;
/** Slack for timers and event delivery on a loaded two-core machine. */
const LATE_MS = 1500;

const expOf = (token: string) => (jwt.decode(token) as { exp: number }).exp * 1000;
const iso = (ms: number) => new Date(ms).toISOString();
const nowS = () => Math.floor(Date.now() / 1000);

type Seen = { what: string; at: number; expiresAt?: string };

/** The session events and the disconnect of `client`, in order, with their times. */
function sessionEvents(client: Client): Seen[] {
  const seen: Seen[] = [];
  client.on("session:expiring", (e: SessionExpiringEvent) =>
    seen.push({ what: "expiring", at: Date.now(), expiresAt: e.expiresAt }),
  );
  client.on("session:expired", () => seen.push({ what: "expired", at: Date.now() }));
  client.on("disconnect", (reason) => seen.push({ what: `disconnect:${reason}`, at: Date.now() }));
  return seen;
}

/** Waits for the socket to be ended at `exp`: session:expired, then the server's disconnect. */
async function expectEndedAt(client: Client, seen: Seen[], exp: number) {
  await eventually(
    () => seen.some((e) => e.what === "disconnect:io server disconnect"),
    exp - Date.now() + 5000,
    "the end of the session",
  );
  const expired = seen.find((e) => e.what === "expired");
  expect(expired, "session:expired before the disconnect").to.not.equal(undefined);
  expect(expired!.at, "not before exp").to.be.at.least(exp - 50);
  expect(expired!.at, "at exp").to.be.below(exp + LATE_MS);
  expect(client.connected).to.equal(false);
}

describe("token refresh on a live socket", function () {
  this.timeout(40_000);
  const cluster = new TestCluster();
  before(() => cluster.start(1, { SESSION_EXPIRING_S: String(EXPIRING_S) }));
  after(() => cluster.stop());
  const node = () => cluster.nodes[0]!;
  const metric = (sample: string) => metricValue(node().url, sample);

  it("session:expiring arrives SESSION_EXPIRING_S before exp, naming it; unrefreshed, the socket ends at exp", async () => {
    const user = newUserId();
    const token = cluster.token(user, 5);
    const exp = expOf(token);
    const client = await cluster.connect(node(), user, { token });
    const seen = sessionEvents(client);
    await expectEndedAt(client, seen, exp);
    expect(seen.map((e) => e.what)).to.deep.equal([
      "expiring",
      "expired",
      "disconnect:io server disconnect",
    ]);
    const [warning] = seen;
    expect(warning!.expiresAt).to.equal(iso(exp));
    // More than twice SESSION_EXPIRING_S was left at the handshake, so it comes that long before.
    expect(warning!.at).to.be.at.least(exp - EXPIRING_S * 1000 - 50);
    expect(warning!.at).to.be.below(exp - EXPIRING_S * 1000 + LATE_MS);
  });

  it("auth:refresh moves the expiry: the socket outlives the old exp, requests and deliveries work, and it ends at the new exp", async () => {
    const [user, peer] = [newUserId(), newUserId()];
    const token = cluster.token(user, 4);
    const oldExp = expOf(token);
    const client = await cluster.connect(node(), user, { token });
    const peerSocket = await cluster.connect(node(), peer);
    const atPeer = collect(peerSocket, "message:new");
    const atClient = collect(client, "message:new");
    const seen = sessionEvents(client);
    const okBefore = await metric('chat_requests_total{event="auth:refresh",outcome="ok"}');

    await eventually(() => seen.length > 0, oldExp - Date.now() + 2000, "session:expiring");
    const fresh = cluster.token(user, 8);
    const newExp = expOf(fresh);
    expect(newExp).to.be.above(oldExp);
    const answer = await request(client, "auth:refresh", { token: fresh });
    expect(answer).to.deep.equal({ ok: true, expiresAt: iso(newExp) });

    await sleep(oldExp - Date.now() + 1000);
    expect(client.connected, "connected a second past the old exp").to.equal(true);
    expect(seen.map((e) => e.what)).to.not.include("expired");
    await ok(client, "conversations:list", {});
    const sent = await ok(client, "message:send", {
      recipientId: peer,
      clientMsgId: "after-refresh",
      content: "still here",
    });
    await ok(peerSocket, "message:send", {
      conversationId: sent.message.conversationId,
      clientMsgId: "reply",
      content: "seen",
    });
    await eventually(() => atPeer.length === 1 && atClient.length === 1, 5000, "deliveries");

    await expectEndedAt(client, seen, newExp);
    const warnings = seen.filter((e) => e.what === "expiring");
    expect(warnings.map((e) => e.expiresAt)).to.deep.equal([iso(oldExp), iso(newExp)]);
    expect(warnings[1]!.at).to.be.below(newExp);
    expect(await metric('chat_requests_total{event="auth:refresh",outcome="ok"}')).to.equal(
      okBefore + 1,
    );
  });

  it("a refused refresh (another user's token, expired, bad signature, not a JWT, malformed payload) keeps the old exp: the socket is closed at it", async () => {
    const secret = node().config.jwt.secret;
    const tolerance = node().config.jwt.clockToleranceS;
    type Case = {
      name: string;
      payload: (user: string) => unknown;
      code: ErrorCode;
      says?: RegExp;
    };
    const cases: Case[] = [
      {
        name: "another user's token",
        payload: () => ({ token: cluster.token(newUserId()) }),
        code: "UNAUTHORIZED",
        says: /another user/,
      },
      {
        name: "an expired token",
        payload: (user) => ({
          token: jwt.sign({ sub: user, exp: nowS() - 60 }, secret, { algorithm: "HS256" }),
        }),
        code: "UNAUTHORIZED",
        says: /expired/,
      },
      {
        // Inside the clock tolerance the verifier takes it; as a new expiry it is still refused.
        name: "a token just past exp",
        payload: (user) => ({
          token: jwt.sign({ sub: user, exp: nowS() - Math.max(1, tolerance - 2) }, secret, {
            algorithm: "HS256",
          }),
        }),
        code: "UNAUTHORIZED",
        says: /expired/,
      },
      {
        name: "a bad signature",
        payload: (user) => ({
          token: jwt.sign({}, `${secret}-not`, {
            algorithm: "HS256",
            subject: user,
            expiresIn: 3600,
          }),
        }),
        code: "UNAUTHORIZED",
        says: /invalid/,
      },
      {
        name: "not a JWT",
        payload: () => ({ token: "not-a-jwt" }),
        code: "UNAUTHORIZED",
        says: /malformed/,
      },
      { name: "token not a string", payload: () => ({ token: 42 }), code: "BAD_REQUEST" },
      { name: "no token", payload: () => ({}), code: "BAD_REQUEST" },
      {
        name: "an unknown field",
        payload: (user) => ({ token: cluster.token(user), userId: user }),
        code: "BAD_REQUEST",
      },
    ];
    const expiredBefore = await metric('chat_server_disconnects_total{reason="tokenExpired"}');
    const refusedBefore = await metric(
      'chat_requests_total{event="auth:refresh",outcome="UNAUTHORIZED"}',
    );
    // All at once, each on its own user's socket, so the test waits for one expiry only.
    const runs = await Promise.all(
      cases.map(async ({ name, payload, code, says }) => {
        const user = newUserId();
        const token = cluster.token(user, 4);
        const client = await cluster.connect(node(), user, { token });
        const seen = sessionEvents(client);
        const answer = await raw(client, "auth:refresh", payload(user));
        expectFailure(answer, code, name);
        if (says) expect((answer as Failure).error.message, name).to.match(says);
        return { name, client, seen, exp: expOf(token) };
      }),
    );
    for (const r of runs) {
      await expectEndedAt(r.client, r.seen, r.exp);
      const warning = r.seen.find((e) => e.what === "expiring");
      expect(warning?.expiresAt, r.name).to.equal(iso(r.exp));
    }
    expect(await metric('chat_server_disconnects_total{reason="tokenExpired"}')).to.equal(
      expiredBefore + cases.length,
    );
    expect(
      await metric('chat_requests_total{event="auth:refresh",outcome="UNAUTHORIZED"}'),
    ).to.equal(refusedBefore + cases.filter((c) => c.code === "UNAUTHORIZED").length);
  });

  it("only the refreshed socket moves: the same user's other socket still ends at its own exp", async () => {
    const user = newUserId();
    const [t1, t2] = [cluster.token(user, 4), cluster.token(user, 4)];
    const [refreshed, other] = await Promise.all([
      cluster.connect(node(), user, { token: t1 }),
      cluster.connect(node(), user, { token: t2 }),
    ]);
    const seen = sessionEvents(other);
    await ok(refreshed, "auth:refresh", { token: cluster.token(user, 30) });
    await expectEndedAt(other, seen, expOf(t2));
    expect(refreshed.connected).to.equal(true);
    await ok(refreshed, "conversations:list", {});
    // Closed now, so its expiry does not land in a later test's disconnect count.
    refreshed.disconnect();
  });

  describe("with RATE_LIMIT_REFRESH=2/60", () => {
    const limited = new TestCluster();
    before(() => limited.start(1, { RATE_LIMIT_REFRESH: "2/60" }));
    after(() => limited.stop());

    it("a third refresh within the window is RATE_LIMITED with retryAfterMs and moves nothing", async () => {
      const user = newUserId();
      const client = await limited.connect(limited.nodes[0]!, user);
      await ok(client, "auth:refresh", { token: limited.token(user, 600) });
      const kept = limited.token(user, 900);
      await ok(client, "auth:refresh", { token: kept });
      const third = await raw(client, "auth:refresh", { token: limited.token(user, 5) });
      expectFailure(third, "RATE_LIMITED", "third refresh");
      expect((third as { error: { retryAfterMs: number } }).error.retryAfterMs).to.be.above(0);
      const socket = limited.nodes[0]!.io.of("/").sockets.get(client.id!);
      expect(socket?.data.tokenExpiresAt, "the second refresh's exp").to.equal(expOf(kept));
      // The budget is the user's on this node, not the socket's.
      const second = await limited.connect(limited.nodes[0]!, user);
      expectFailure(
        await raw(second, "auth:refresh", { token: limited.token(user) }),
        "RATE_LIMITED",
        "another socket of the user",
      );
    });
  });

  describe("the client library with a token function", () => {
    const clients: ChatClient[] = [];
    afterEach(() => clients.splice(0).forEach((c) => c.close()));

    /** A client whose token function answers with `next(call)` (call counts from 1). */
    function client(user: string, next: (call: number) => string | Promise<string>) {
      let calls = 0;
      const tokens: string[] = [];
      const c = new ChatClient({
        url: node().url,
        token: async () => {
          const token = await next(++calls);
          tokens.push(token);
          return token;
        },
        retryDelayMs: 100,
        socket: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 300 },
      });
      clients.push(c);
      const statuses: StatusChange[] = [];
      const refreshed: string[] = [];
      c.on("status", (s) => statuses.push(s));
      c.on("refreshed", (r) => refreshed.push(r.expiresAt));
      return { c, calls: () => calls, tokens, statuses, refreshed };
    }

    it("refreshes by itself and stays on one connection across several token lifetimes", async () => {
      const user = newUserId();
      const t = client(user, () => cluster.token(user, 4));
      await t.c.connect();
      const socketId = t.c.socket.id;
      const firstExp = expOf(t.tokens[0]!);
      await eventually(
        () => t.refreshed.length >= 3 && Date.now() > firstExp + 3000,
        20_000,
        "three refreshes, past two lifetimes",
      );
      expect(t.statuses.map((s) => s.status)).to.deep.equal(["connecting", "connected"]);
      expect(t.c.socket.id).to.equal(socketId);
      // One token at the connection and one per refresh (the next one may be on its way).
      expect(t.calls() - t.refreshed.length).to.be.within(1, 2);
      // Each refresh moved the expiry forward.
      const times = t.refreshed.map((e) => Date.parse(e));
      expect([...times].sort((a, b) => a - b)).to.deep.equal(times);
      const peer = newUserId();
      await t.c.send({ recipientId: peer, content: "after refreshes" });
    });

    it("retries a refresh whose token function failed, then stays connected", async () => {
      const user = newUserId();
      const t = client(user, (call) => {
        if (call === 2) throw new Error("token service down");
        return cluster.token(user, call === 1 ? 4 : 60);
      });
      await t.c.connect();
      await eventually(() => t.refreshed.length === 1, 8000, "a refresh after the failed one");
      expect(t.calls()).to.equal(3);
      await sleep(Math.max(0, expOf(t.tokens[0]!) - Date.now()) + 500);
      expect(t.statuses.map((s) => s.status)).to.deep.equal(["connecting", "connected"]);
    });

    it("when the refresh is refused, the session expires and the client reconnects with a new token, as without refresh", async () => {
      const user = newUserId();
      // Call 2 is the refresh: a token of someone else, refused (not retried).
      const t = client(user, (call) =>
        call === 2 ? cluster.token(newUserId(), 60) : cluster.token(user, call === 1 ? 4 : 60),
      );
      const expiredBefore = await metric('chat_server_disconnects_total{reason="tokenExpired"}');
      await t.c.connect();
      await eventually(
        () => t.statuses.filter((s) => s.status === "connected").length === 2,
        10_000,
        "the reconnection after the expiry",
      );
      expect(t.refreshed).to.deep.equal([]);
      expect(t.calls()).to.equal(3);
      expect(t.statuses.map((s) => s.status)).to.deep.equal([
        "connecting",
        "connected",
        "reconnecting",
        "connected",
      ]);
      expect(await metric('chat_server_disconnects_total{reason="tokenExpired"}')).to.equal(
        expiredBefore + 1,
      );
      await t.c.request("conversations:list", {});
    });
  });
});
