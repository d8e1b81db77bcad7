// The abuse limits (docs/protocol.md, "Limits"): each refuses with the protocol's
// error, counts where it says it counts, and leaves everyone else served.
import { expect } from "chai";
import { allBudgets } from "../gateway/config.js";
import type { Message } from "../shared/protocol.js";
import { expectFailure, raw, refusalOf } from "./support/answers.js";
import {
  type Client,
  collect,
  eventually,
  newUserId,
  ok,
  sleep,
  TestCluster,
  QUIET_MS,
} from "./support/cluster.js";

/** Refused with connect_error RATE_LIMITED for `reason`; answers the data. */
async function expectLimited(connecting: Promise<Client>, reason: "handshakes" | "sockets") {
  const err = await refusalOf(connecting);
  expect(err.message).to.equal("RATE_LIMITED");
  const data = err.data as { code: string; reason: string; retryAfterMs?: number };
  expect(data).to.include({ code: "RATE_LIMITED", reason });
  return data;
}

describe("limits", function () {
  this.timeout(30_000);

  describe("per-user send rate and sockets per user, across two nodes", () => {
    const SEND_LIMIT = 3;
    const WINDOW_S = 30;
    const cluster = new TestCluster();
    before(() =>
      cluster.start(2, {
        RATE_LIMIT_SEND: `${SEND_LIMIT}/${WINDOW_S}`,
        // Each send counted in Redis first: exact. The default background count is tested below.
        RATE_LIMIT_SEND_SYNC_MS: "0",
        MAX_SOCKETS_PER_USER: "2",
      }),
    );
    after(() => cluster.stop());
    const [node0, node1] = [() => cluster.nodes[0]!, () => cluster.nodes[1]!];

    it("one allowance shared by both nodes; over it RATE_LIMITED with retryAfterMs, nothing stored or delivered", async () => {
      const [alice, bob] = [newUserId(), newUserId()];
      const [a0, a1, b] = await Promise.all([
        cluster.connect(node0(), alice),
        cluster.connect(node1(), alice),
        cluster.connect(node1(), bob),
      ]);
      const atBob = collect(b, "message:new");
      const send = (client: Client, n: number) =>
        raw(client, "message:send", { recipientId: bob, clientMsgId: `r${n}`, content: `m${n}` });

      const sent: Message[] = [];
      for (const [i, client] of [a0, a1, a0].entries()) {
        const answer = (await send(client, i)) as { ok: boolean; message: Message };
        expect(answer.ok, JSON.stringify(answer)).to.equal(true);
        sent.push(answer.message);
      }
      // Both nodes refuse the next one: the count lives in Redis, not in either node.
      for (const [i, client] of [a1, a0].entries()) {
        const answer = await send(client, SEND_LIMIT + i);
        expectFailure(answer, "RATE_LIMITED", `send ${SEND_LIMIT + i}`);
        const { retryAfterMs } = (answer as { error: { retryAfterMs: number } }).error;
        expect(retryAfterMs)
          .to.be.a("number")
          .within(1, WINDOW_S * 1000);
      }

      // Other users keep their own allowance; a refused send is no request at all.
      const reply = await ok(b, "message:send", {
        recipientId: alice,
        clientMsgId: "x",
        content: "y",
      });
      await eventually(() => atBob.length === SEND_LIMIT, 5000, "the allowed messages at bob");
      await sleep(QUIET_MS);
      expect(atBob.map((m) => m.content)).to.deep.equal(["m0", "m1", "m2"]);
      const history = await ok(b, "history:fetch", {
        conversationId: reply.message.conversationId,
      });
      expect(history.messages.map((m) => m.content)).to.deep.equal(["y", "m2", "m1", "m0"]);
      // Validation comes first: a malformed send is BAD_REQUEST, not counted as a send.
      expectFailure(await raw(a0, "message:send", { recipientId: bob }), "BAD_REQUEST", "bad");
    });

    it("a third socket of one user is refused on either node, until one closes", async () => {
      const [alice, bob] = [newUserId(), newUserId()];
      const first = await cluster.connect(node0(), alice);
      await cluster.connect(node1(), alice);
      for (const node of [node0(), node1()]) {
        const data = await expectLimited(cluster.connect(node, alice), "sockets");
        expect(data).to.have.all.keys("code", "reason");
      }
      // Another user is not affected.
      await cluster.connect(node0(), bob);

      first.disconnect();
      // The server sees the close a moment after the client does.
      const deadline = Date.now() + 5000;
      for (;;) {
        const again = await cluster.connect(node1(), alice).catch((err: unknown) => {
          if (Date.now() > deadline) throw err;
          return sleep(50);
        });
        if (again) break;
      }
    });
  });

  describe("the send budget counted by each node and synced in the background", () => {
    const SEND_LIMIT = 4;
    const WINDOW_S = 30;
    const SYNC_MS = 50;
    const cluster = new TestCluster();
    before(() =>
      cluster.start(2, {
        RATE_LIMIT_SEND: `${SEND_LIMIT}/${WINDOW_S}`,
        RATE_LIMIT_SEND_SYNC_MS: String(SYNC_MS),
      }),
    );
    after(() => cluster.stop());

    it("a burst through two nodes gets at most the budget on each; once synced both refuse; refused sends leave nothing", async () => {
      // The windows are aligned to the clock: start well inside one.
      const left = WINDOW_S * 1000 - (Date.now() % (WINDOW_S * 1000));
      if (left < 5000) await sleep(left + 50);
      const [alice, bob] = [newUserId(), newUserId()];
      const [a0, a1, b] = await Promise.all([
        cluster.connect(cluster.nodes[0]!, alice),
        cluster.connect(cluster.nodes[1]!, alice),
        cluster.connect(cluster.nodes[1]!, bob),
      ]);
      const atBob = collect(b, "message:new");
      let n = 0;
      const send = (client: Client) =>
        raw(client, "message:send", { recipientId: bob, clientMsgId: `s${n}`, content: `m${n++}` });
      const burst = await Promise.all(
        Array.from({ length: 2 * SEND_LIMIT + 4 }, (_, i) => send(i % 2 ? a1 : a0)),
      );
      const accepted = burst.filter((a) => (a as { ok: boolean }).ok) as { message: Message }[];
      expect(accepted.length).to.be.within(SEND_LIMIT, 2 * SEND_LIMIT);
      for (const refused of burst.filter((a) => !(a as { ok: boolean }).ok)) {
        expectFailure(refused, "RATE_LIMITED", "over the budget");
      }
      await sleep(4 * SYNC_MS);
      for (const client of [a0, a1]) expectFailure(await send(client), "RATE_LIMITED", "synced");

      // What one node took reaches the other: after a sync, it takes at most one more send (the
      // one that makes it sync), where counting alone it would take a whole budget.
      const carol = newUserId();
      const [c0, c1] = await Promise.all([
        cluster.connect(cluster.nodes[0]!, carol),
        cluster.connect(cluster.nodes[1]!, carol),
      ]);
      for (let i = 0; i < SEND_LIMIT; i++)
        await ok(c0, "message:send", { recipientId: bob, clientMsgId: `c${i}`, content: "c" });
      await sleep(4 * SYNC_MS);
      const later: unknown[] = [];
      for (let i = 0; i < SEND_LIMIT; i++) {
        later.push(
          await raw(c1, "message:send", { recipientId: bob, clientMsgId: `d${i}`, content: "d" }),
        );
        await sleep(2 * SYNC_MS);
      }
      expect(later.filter((a) => (a as { ok: boolean }).ok).length).to.be.at.most(1);

      const fromAlice = () => atBob.filter((m) => m.senderId === alice);
      await eventually(() => fromAlice().length === accepted.length, 5000, "the accepted messages");
      await sleep(QUIET_MS);
      expect(fromAlice()).to.have.length(accepted.length);
      const { messages } = await ok(b, "history:fetch", {
        conversationId: accepted[0]!.message.conversationId,
      });
      expect(messages.map((m) => m.messageId).sort()).to.deep.equal(
        accepted.map((a) => a.message.messageId).sort(),
      );
    });
  });

  describe("a budget for every request kind, and a cap on requests in flight", () => {
    const BUDGET = 2;
    const WINDOW_S = 60;
    const cluster = new TestCluster();
    before(() =>
      cluster.start(2, {
        ...allBudgets(`${BUDGET}/${WINDOW_S}`),
        RATE_LIMIT_CREATE: `${BUDGET}/${WINDOW_S}`,
      }),
    );
    after(() => cluster.stop());

    /** Answers of `count` requests made one after the other. */
    const answers = async (count: number, request: () => Promise<unknown>) => {
      const seen: unknown[] = [];
      for (let i = 0; i < count; i++) seen.push(await request());
      return seen;
    };
    const isLimited = (a: unknown) => (a as { ok: boolean; error?: { code: string } }).error?.code;
    const expectBudget = (seen: unknown[], what: string) => {
      expect(
        seen.slice(0, BUDGET).map((a) => (a as { ok: boolean }).ok),
        what,
      ).to.deep.equal(Array.from({ length: BUDGET }, () => true));
      const over = seen.at(-1);
      expectFailure(over, "RATE_LIMITED", what);
      expect((over as { error: { retryAfterMs: number } }).error.retryAfterMs)
        .to.be.a("number")
        .within(1, WINDOW_S * 1000);
    };

    it("each kind refuses the request over its budget with RATE_LIMITED and retryAfterMs", async () => {
      const node = cluster.nodes[0]!;
      const [alice, bob] = [newUserId(), newUserId()];
      const [a, b] = await Promise.all([cluster.connect(node, alice), cluster.connect(node, bob)]);
      const { message } = await ok(b, "message:send", {
        recipientId: alice,
        clientMsgId: "m",
        content: "hi",
      });
      const conversationId = message.conversationId;
      const { conversation: group } = await ok(b, "conversation:create", {
        participantIds: [alice],
        title: "g",
      });
      const n = BUDGET + 1;
      let c = 0;
      const kinds: [string, () => Promise<unknown>][] = [
        ["open", () => raw(a, "conversation:open", { peerId: newUserId() })],
        ["create", () => raw(a, "conversation:create", { participantIds: [bob] })],
        ["read", () => raw(a, "message:read", { conversationId, messageId: message.messageId })],
        ["typing", () => raw(a, "typing", { conversationId, typing: true })],
        ["history", () => raw(a, "history:fetch", { conversationId })],
        ["list", () => raw(a, "conversations:list", {})],
        ["presence", () => raw(a, "presence:subscribe", { conversationIds: [conversationId] })],
        [
          "change",
          () =>
            raw(a, "reaction:add", { conversationId, messageId: message.messageId, emoji: "👍" }),
        ],
        // Renaming to the title it has is answered ok and changes nothing.
        [
          "member",
          () => raw(b, "conversation:rename", { conversationId: group.conversationId, title: "g" }),
        ],
        ["refresh", () => raw(a, "auth:refresh", { token: cluster.token(alice) })],
        [
          "send",
          () => raw(a, "message:send", { conversationId, clientMsgId: `s${c++}`, content: "x" }),
        ],
      ];
      for (const [kind, request] of kinds) expectBudget(await answers(n, request), kind);
      // Bob's budgets are his own.
      await ok(b, "conversations:list", {});
    });

    it("a flood of new groups around a victim stops at the create budget, on every node", async () => {
      const [mallory, victim] = [newUserId(), newUserId()];
      const [m0, m1, v] = await Promise.all([
        cluster.connect(cluster.nodes[0]!, mallory),
        cluster.connect(cluster.nodes[1]!, mallory),
        cluster.connect(cluster.nodes[1]!, victim),
      ]);
      const told = collect(v, "conversation:new");
      const flood = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          raw(i % 2 ? m1 : m0, "conversation:create", { participantIds: [victim] }),
        ),
      );
      const created = flood.filter((a) => (a as { ok: boolean }).ok);
      expect(created, "groups created across both nodes").to.have.length(BUDGET);
      expect(flood.filter((a) => isLimited(a) === "RATE_LIMITED")).to.have.length(40 - BUDGET);
      await eventually(() => told.length === BUDGET, 5000, "the victim's conversation:new");
      await sleep(QUIET_MS);
      expect(told).to.have.length(BUDGET);
    });

    it("a socket with too many requests running gets RATE_LIMITED for the excess", async () => {
      const [node] = await cluster.start(1, {
        ...allBudgets("100000/1"),
        MAX_REQUESTS_IN_FLIGHT: "2",
      });
      const a = await cluster.connect(node!, newUserId());
      const burst = await Promise.all(
        Array.from({ length: 20 }, () => raw(a, "conversations:list", {})),
      );
      const limited = burst.filter((x) => isLimited(x) === "RATE_LIMITED");
      expect(limited.length, "refused beyond 2 in flight").to.be.greaterThan(0);
      expect(burst.filter((x) => (x as { ok: boolean }).ok).length).to.be.at.least(2);
      for (const x of limited) expectFailure(x, "RATE_LIMITED", "in flight");
      // Once answered, the socket is served again.
      await ok(a, "conversations:list", {});
    });
  });

  describe("handshakes per client address per second", () => {
    const PER_S = 3;
    const cluster = new TestCluster();
    before(() => cluster.start(1, { HANDSHAKES_PER_IP_PER_S: String(PER_S), TRUST_PROXY: "true" }));
    after(() => cluster.stop());

    /** A handshake as if through the load balancer, which appended `address`. */
    const from = (address: string, token?: string | null, claimed = "203.0.113.9") =>
      cluster.connect(cluster.nodes[0]!, newUserId(), {
        token,
        headers: { "X-Forwarded-For": `${claimed}, ${address}` },
      });

    it("counts refused tokens too, then answers RATE_LIMITED with retryAfterMs", async () => {
      const address = "198.51.100.1";
      for (let i = 0; i < PER_S; i++) {
        const err = await refusalOf(from(address, "not-a-token"));
        expect(err.message).to.equal("UNAUTHORIZED");
      }
      const data = await expectLimited(from(address), "handshakes");
      expect(data.retryAfterMs).to.be.a("number").within(1, 1000);
    });

    it("each address has its own count, whatever the client claims in front of it", async () => {
      const address = "198.51.100.2";
      await Promise.all(Array.from({ length: PER_S }, () => from(address)));
      await expectLimited(from(address, undefined, "192.0.2.77"), "handshakes");
      const other = await from("198.51.100.3", undefined, "198.51.100.2");
      expect(other.connected).to.equal(true);
    });
  });

  describe("frame size (MAX_FRAME_BYTES)", () => {
    const cluster = new TestCluster();
    before(() => cluster.start(1, { MAX_FRAME_BYTES: String(64 * 1024) }));
    after(() => cluster.stop());

    const CLOSED_BY = { websocket: "transport close", polling: "transport error" };
    for (const transport of ["websocket", "polling"] as const) {
      it(`a frame over the limit closes that connection only (${transport}); the node serves the others`, async () => {
        const node = cluster.nodes[0]!;
        const user = newUserId();
        const [big, other] = await Promise.all([
          cluster.connect(node, user, { transport }),
          cluster.connect(node, newUserId()),
        ]);
        const closed = new Promise<string>((resolve) => big.once("disconnect", resolve));
        const answer = raw(big, "history:fetch", {
          conversationId: newUserId(),
          cursor: "x".repeat(70 * 1024),
        });
        // Over WebSocket the server closes the socket; over long-polling it answers the POST
        // with 413, which ends the session.
        expect(await closed).to.equal(CLOSED_BY[transport]);
        await answer.then(
          () => expect.fail("an oversized frame was answered"),
          (err: Error) => expect(err.message).to.match(/timed out|disconnected/),
        );
        await ok(other, "conversations:list", {});
        // The same user reconnects and is served.
        const again = await cluster.connect(node, user, { transport });
        await ok(again, "conversations:list", {});
      });
    }
  });
});
