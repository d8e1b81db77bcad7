// The shared client library (shared/client) against real in-process nodes: timeouts, sends
// retried with one clientMsgId until acknowledged, catch-up after a node restart, dedupe, status.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { allBudgets } from "../gateway/config.js";
import { Server } from "socket.io";
import { ChatClient, RequestError, type ChatClientOptions } from "../shared/client/index.js";
import type { Message } from "../shared/protocol.js";
import type { GatewayNode } from "../gateway/node.js";
import { loadConfig } from "../gateway/config.js";
import { userRoom } from "../gateway/transport/types.js";
import { collect, eventually, newUserId, ok, sleep, TestCluster } from "./support/cluster.js";
import { metricValue, waitForReady } from "./support/gateway-process.js";
import { TcpProxy } from "./support/tcp-proxy.js";

describe("client library", () => {
  const cluster = new TestCluster();
  const clients: ChatClient[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(cleanups.splice(0).map((f) => f()));
    await cluster.stop();
  });

  function client(url: string, userId: string, options: Partial<ChatClientOptions> = {}) {
    const c = new ChatClient({
      url,
      token: () => cluster.token(userId),
      retryDelayMs: 50,
      socket: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 300 },
      ...options,
    });
    clients.push(c);
    return c;
  }

  /** A Socket.IO server that takes every connection and never answers a request. */
  async function silentServer() {
    const http = createServer();
    const io = new Server(http);
    const sends: string[] = [];
    io.on("connection", (socket) => {
      socket.on("message:send", (req: { clientMsgId: string }) => void sends.push(req.clientMsgId));
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => io.close());
    return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, sends };
  }

  const messagesOf = (c: ChatClient) => {
    const seen: Message[] = [];
    c.on("message", (m) => seen.push(m));
    return seen;
  };
  const ids = (messages: Message[]) => messages.map((m) => m.messageId);

  /** Holds a client's (re)connections: its token function waits while the gate is shut. */
  class Gate {
    private opened: Promise<void> = Promise.resolve();
    private release = () => undefined as void;
    shut() {
      this.opened = new Promise((resolve) => (this.release = resolve));
    }
    open() {
      this.release();
    }
    token(userId: string) {
      return async () => {
        await this.opened;
        return cluster.token(userId);
      };
    }
  }

  /** A connected client whose reconnections wait at its gate, counting its catch-ups. */
  async function gatedClient(url: string, userId: string) {
    const gate = new Gate();
    const c = client(url, userId, { token: gate.token(userId) });
    const mine = messagesOf(c);
    const catchUps = { done: 0 };
    c.on("synced", () => catchUps.done++);
    await c.connect();
    return { c, gate, mine, catchUps };
  }

  /** Drops the user's connections to `node`; the client reconnects (through its gate). */
  async function dropConnections(node: GatewayNode, c: ChatClient, userId: string) {
    node.io.in(userRoom(userId)).disconnectSockets(true);
    await eventually(() => c.status === "reconnecting", 5000, "reconnecting");
  }

  it("rejects a request that gets no answer with TIMEOUT", async () => {
    const server = await silentServer();
    const c = new ChatClient({ url: server.url, token: "t", requestTimeoutMs: 200 });
    clients.push(c);
    await c.connect();
    const err = await c
      .request("typing", { conversationId: newUserId(), typing: true })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RequestError);
    expect((err as RequestError).code).to.equal("TIMEOUT");
  });

  it("retries an unanswered send with the same clientMsgId until it gives up", async () => {
    const server = await silentServer();
    const c = new ChatClient({
      url: server.url,
      token: "t",
      requestTimeoutMs: 150,
      sendTimeoutMs: 1000,
      retryDelayMs: 20,
    });
    clients.push(c);
    await c.connect();
    const err = await c
      .send({ conversationId: newUserId(), content: "hi", clientMsgId: "c-1" })
      .catch((e: unknown) => e);
    expect((err as RequestError).code).to.equal("TIMEOUT");
    expect(server.sends.length).to.be.greaterThan(1);
    expect(new Set(server.sends)).to.deep.equal(new Set(["c-1"]));
  });

  it("retries a send whose acknowledgement was lost; the gateway stores it once", async () => {
    const [a, b] = await cluster.start(2);
    const [alice, bob] = [newUserId(), newUserId()];
    // Lets the first message:send through to the gateway but swallows its answer.
    let swallowed = 0;
    a!.io.on("connection", (socket) =>
      socket.use((packet, next) => {
        if (packet[0] === "message:send" && swallowed++ === 0) packet[2] = () => undefined;
        next();
      }),
    );
    const c = client(a!.url, alice, { requestTimeoutMs: 500 });
    const mine = messagesOf(c);
    await c.connect();
    const peer = await cluster.connect(b!, bob);
    const received = collect(peer, "message:new");

    const first = await c.send({ recipientId: bob, content: "once" });
    const second = await c.send({ conversationId: first.conversationId, content: "twice?" });
    expect(swallowed).to.equal(3); // the first send twice, then the second once
    await eventually(() => received.length >= 2, 5000, "bob's deliveries");
    expect(ids(received)).to.deep.equal([first.messageId, second.messageId]);
    expect(ids(mine)).to.deep.equal([first.messageId, second.messageId]);
    const page = await ok(peer, "history:fetch", { conversationId: first.conversationId });
    expect(ids(page.messages)).to.deep.equal([second.messageId, first.messageId]);
  });

  it("catches up after its node restarts: every missed message once, pending sends delivered", async () => {
    const [a, b] = await cluster.start(2);
    const [alice, bob] = [newUserId(), newUserId()];
    const c = client(a!.url, alice);
    const statuses: string[] = [];
    // A status event also reports a new reason; the statuses themselves must go in this order.
    c.on("status", ({ status }) => void (statuses.at(-1) !== status && statuses.push(status)));
    const mine = messagesOf(c);
    let synced = 0;
    c.on("synced", () => synced++);
    await c.connect();
    const peer = await cluster.connect(b!, bob);
    const { conversation } = await c.request("conversation:open", { peerId: bob });
    const conversationId = conversation.conversationId;
    const send = (content: string) =>
      ok(peer, "message:send", { conversationId, clientMsgId: `b-${content}`, content });

    const live = await send("live");
    await eventually(() => mine.length === 1, 5000, "the live message");

    c.track(newUserId()); // a conversation the gateway refuses: the catch-up goes on past it
    await cluster.stopNode(a!);
    await eventually(() => c.status === "reconnecting", 5000, "reconnecting");
    const missed = [await send("m1"), await send("m2"), await send("m3")];
    const pending = c.send({ conversationId, content: "sent while down" });
    const syncedBefore = synced;
    await cluster.start(1, { PORT: String(a!.port) });
    const sentWhileDown = await pending;
    await eventually(() => synced > syncedBefore, 10_000, "the catch-up");
    const after = await send("after");
    await eventually(
      () => mine.some((m) => m.messageId === after.message.messageId),
      5000,
      "after",
    );

    const expected = [live, ...missed].map((r) => r.message.messageId);
    expected.push(sentWhileDown.messageId, after.message.messageId);
    expect([...ids(mine)].sort()).to.deep.equal([...expected].sort());
    expect(statuses).to.deep.equal(["connecting", "connected", "reconnecting", "connected"]);
    const page = await ok(peer, "history:fetch", { conversationId });
    expect(page.messages.filter((m) => m.content === "sent while down")).to.have.length(1);
  });

  it("after its node restarts, re-reads the messages edited, deleted and reacted to meanwhile", async () => {
    const [a, b] = await cluster.start(2);
    const [alice, bob] = [newUserId(), newUserId()];
    const c = client(a!.url, alice);
    // The page's model: messages by id, each replaced by a newer state.
    const shown = new Map<string, Message>();
    c.on("message", (m) => void shown.set(m.messageId, m));
    c.on("changed", (m) => {
      const held = shown.get(m.messageId);
      if (!held || (held.version ?? 0) <= (m.version ?? 0)) shown.set(m.messageId, m);
    });
    let synced = 0;
    c.on("synced", () => synced++);
    await c.connect();
    const peer = await cluster.connect(b!, bob);
    const { conversation } = await c.request("conversation:open", { peerId: bob });
    const conversationId = conversation.conversationId;
    const said = await Promise.all(
      ["one", "two", "three"].map(
        async (content) =>
          (await ok(peer, "message:send", { conversationId, clientMsgId: content, content }))
            .message,
      ),
    );
    await eventually(() => shown.size === 3, 5000, "the live messages");

    await cluster.stopNode(a!);
    await eventually(() => c.status === "reconnecting", 5000, "reconnecting");
    const ref = (m: Message) => ({ conversationId, messageId: m.messageId });
    await ok(peer, "message:edit", { ...ref(said[0]!), content: "one, edited" });
    await ok(peer, "message:delete", ref(said[1]!));
    await ok(peer, "reaction:add", { ...ref(said[2]!), emoji: "👀" });
    const syncedBefore = synced;
    await cluster.start(1, { PORT: String(a!.port) });
    await eventually(() => synced > syncedBefore, 10_000, "the catch-up");

    const stored = (await c.request("history:fetch", { conversationId })).messages;
    expect([...shown.values()]).to.have.deep.members(stored);
    expect(
      stored.map((m) => [m.content, m.deleted ?? false, m.reactions ?? []]),
    ).to.have.deep.members([
      ["one, edited", false, []],
      ["", true, []],
      ["three", false, [{ emoji: "👀", count: 1, me: false }]],
    ]);
  });

  it("passes a message on once however often it arrives", async () => {
    const [a] = await cluster.start(1);
    const [alice, bob] = [newUserId(), newUserId()];
    const c = client(a!.url, alice);
    const mine = messagesOf(c);
    await c.connect();
    const peer = await cluster.connect(a!, bob);
    const { message: old } = await ok(peer, "message:send", {
      recipientId: alice,
      clientMsgId: "old",
      content: "old",
    });
    await eventually(() => mine.length === 1, 5000, "the first delivery");
    const { messages } = await c.request("history:fetch", { conversationId: old.conversationId });
    expect(ids(messages)).to.deep.equal([old.messageId]);

    const { message: fresh } = await ok(peer, "message:send", {
      conversationId: old.conversationId,
      clientMsgId: "fresh",
      content: "fresh",
    });
    // Delivered again by the server, as an at-least-once path would.
    a!.io.to(userRoom(alice)).emit("message:new", old);
    a!.io.to(userRoom(alice)).emit("message:new", fresh);
    a!.io.to(userRoom(alice)).emit("message:new", fresh);
    const marker = await ok(peer, "message:send", {
      conversationId: old.conversationId,
      clientMsgId: "marker",
      content: "marker",
    });
    await eventually(() => mine.length >= 3, 5000, "the marker");
    expect(ids(mine)).to.deep.equal([old.messageId, fresh.messageId, marker.message.messageId]);
  });

  it("closes with the reason when the token is refused", async () => {
    const [a] = await cluster.start(1);
    const c = new ChatClient({ url: a!.url, token: "not-a-jwt" });
    clients.push(c);
    const statuses: string[] = [];
    c.on("status", (s) => statuses.push(`${s.status}${s.reason ? ` ${s.reason}` : ""}`));
    const err = await c.connect().catch((e: unknown) => e);
    expect((err as RequestError).code).to.equal("DISCONNECTED");
    expect(statuses).to.deep.equal(["connecting", "closed UNAUTHORIZED: malformed"]);
  });

  it("a client offline while 150 messages arrive gets all 150, once, in a conversation it knew no message of", async function () {
    this.timeout(60_000);
    const [a] = await cluster.start(1, { ...allBudgets("10000/10") });
    const [alice, bob] = [newUserId(), newUserId()];
    const { c, gate, mine, catchUps } = await gatedClient(a!.url, alice);
    // Tracked with no message known: its catch-up must read the whole history, not one page.
    const { conversation } = await c.request("conversation:open", { peerId: bob });
    const peer = await cluster.connect(a!, bob);

    gate.shut();
    await dropConnections(a!, c, alice);
    const sent: string[] = [];
    for (let i = 0; i < 150; i++) {
      const { message } = await ok(peer, "message:send", {
        conversationId: conversation.conversationId,
        clientMsgId: `m${i}`,
        content: `m${i}`,
      });
      sent.push(message.messageId);
    }
    const syncedBefore = catchUps.done;
    gate.open();
    await eventually(() => catchUps.done > syncedBefore, 20_000, "the catch-up");
    expect(ids(mine)).to.deep.equal(sent);
  });

  it("keeps catching up while storage is unavailable; once it is back every missed message arrives once", async function () {
    this.timeout(90_000);
    const [host = "127.0.0.1", port = "9042"] = loadConfig(
      process.env,
    ).cassandra.contactPoints[0]!.split(":");
    const proxy = await new TcpProxy(host, Number(port)).start();
    cleanups.push(() => proxy.stop());
    // Alice's node reaches Cassandra through the relay; the senders' node directly.
    const [a] = await cluster.start(1, { CASSANDRA_CONTACT_POINTS: `127.0.0.1:${proxy.port}` });
    const [b] = await cluster.start(1);
    const [alice, bob, carol] = [newUserId(), newUserId(), newUserId()];
    const { c, gate, mine, catchUps } = await gatedClient(a!.url, alice);
    const peers = await Promise.all([bob, carol].map((u) => cluster.connect(b!, u)));
    const expected: string[] = [];
    const sendAll = async (content: string) => {
      for (const peer of peers) {
        const { message } = await ok(peer, "message:send", {
          recipientId: alice,
          clientMsgId: `m${expected.length}`,
          content,
        });
        expected.push(message.messageId);
      }
    };
    await sendAll("live");
    await eventually(() => mine.length === 2, 5000, "the live messages");

    gate.shut();
    await dropConnections(a!, c, alice);
    for (let i = 0; i < 5; i++) await sendAll(`missed ${i}`);
    proxy.interrupt();
    await waitForReady(a!.url, 10_000, 503);
    const syncedBefore = catchUps.done;
    const refused = () =>
      metricValue(a!.url, 'chat_requests_total{event="history:fetch",outcome="UNAVAILABLE"}');
    gate.open();
    // The catch-up is refused, and asks again.
    for (let deadline = Date.now() + 20_000; (await refused()) < 2; await sleep(50)) {
      if (Date.now() > deadline) throw new Error("the catch-up was not refused twice");
    }
    expect(catchUps.done).to.equal(syncedBefore);
    proxy.restore();
    await eventually(() => catchUps.done > syncedBefore, 40_000, "the catch-up after the outage");
    expect(ids(mine)).to.have.length(expected.length); // once each
    expect([...ids(mine)].sort()).to.deep.equal([...expected].sort());
  });
});
