// Every request of the wire protocol (docs/protocol.md): its success and each error code it
// can give, against real gateway nodes, Cassandra and Redis.
import { expect } from "chai";
import { openTestDb } from "./support/db.js";
import { v1 as timeUuid, v4 as randomUuid } from "uuid";
import { compareMessageIds, messageIdTime } from "../shared/message-id.js";
import type { Conversation, Message, RequestEvent } from "../shared/protocol.js";
import { emitWithoutAck, expectFailure, fails, raw } from "./support/answers.js";
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

const V1_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MESSAGE_KEYS = [
  "clientMsgId",
  "content",
  "conversationId",
  "messageId",
  "senderId",
  "sentAt",
];

function expectWireMessage(
  m: Message,
  expected: Pick<Message, "conversationId" | "senderId" | "clientMsgId" | "content">,
  window?: { from: number; to: number },
) {
  expect(Object.keys(m).sort()).to.deep.equal(MESSAGE_KEYS);
  expect(m).to.include(expected);
  expect(m.messageId).to.match(V1_UUID);
  expect(m.sentAt).to.match(ISO_MS_UTC);
  expect(Date.parse(m.sentAt), "sentAt is the time of the messageId").to.equal(
    messageIdTime(m.messageId),
  );
  if (window) {
    expect(Date.parse(m.sentAt)).to.be.within(window.from - 1000, window.to + 1000);
  }
}

const newestFirst = (ms: Message[]) =>
  [...ms].sort((x, y) => compareMessageIds(y.messageId, x.messageId));
const ids = (ms: { messageId: string }[]) => ms.map((m) => m.messageId);
const convIds = (cs: Conversation[]) => cs.map((c) => c.conversationId);
const summary = (m: Message) => ({
  messageId: m.messageId,
  senderId: m.senderId,
  content: m.content,
  sentAt: m.sentAt,
});

describe("requests", function () {
  this.timeout(20_000);
  const cluster = new TestCluster();
  let seq = 0;
  const nextClientId = () => `cm-${++seq}`;

  // Some tests send 50-odd messages from one socket at once; the cap has its own test.
  before(() => cluster.start(2, { MAX_REQUESTS_IN_FLIGHT: "100" }));
  after(() => cluster.stop());

  /** A client for `userId` on node `nodeIndex` (clients are closed by cluster.stop). */
  const connect = (userId: string, nodeIndex = 0) =>
    cluster.connect(cluster.nodes[nodeIndex % cluster.nodes.length]!, userId);

  /** Alice on node 0, Bob on node 1, and their direct conversation. */
  async function pair() {
    const alice = newUserId();
    const bob = newUserId();
    const [ca, cb] = await Promise.all([connect(alice, 0), connect(bob, 1)]);
    const news = [ca, cb].map((c) => collect(c, "conversation:new"));
    const { conversation } = await ok(ca, "conversation:open", { peerId: bob });
    // Let the creation's conversation:new settle, so tests collect only what they cause.
    await eventually(() => news.every((n) => n.length === 1), 5000, "the pair's conversation:new");
    return { alice, bob, ca, cb, conversationId: conversation.conversationId };
  }

  const say = async (client: Client, conversationId: string, content = "hello") =>
    (await ok(client, "message:send", { conversationId, clientMsgId: nextClientId(), content }))
      .message;

  const history = async (client: Client, conversationId: string) =>
    (await ok(client, "history:fetch", { conversationId, limit: 100 })).messages;

  describe("message:send", () => {
    it("by conversationId: stores the message, answers it, delivers it, and history reads it back", async () => {
      const { alice, ca, cb, conversationId } = await pair();
      const atBob = collect(cb, "message:new");
      const from = Date.now();
      const answer = await raw(ca, "message:send", {
        conversationId,
        clientMsgId: "Ab_9-z",
        content: "hello bob",
      });
      const to = Date.now();
      expect(answer).to.have.all.keys("ok", "message");
      const { message } = answer as { ok: true; message: Message };
      expect((answer as { ok: unknown }).ok).to.equal(true);
      expectWireMessage(
        message,
        { conversationId, senderId: alice, clientMsgId: "Ab_9-z", content: "hello bob" },
        { from, to },
      );
      expect(await history(cb, conversationId)).to.deep.equal([message]);
      expect(await history(ca, conversationId)).to.deep.equal([message]);
      await eventually(() => atBob.length === 1, 5000, "message:new at bob");
      expect(atBob[0]).to.deep.equal(message);
    });

    it("by recipientId: creates the direct conversation on first use, the one both users open", async () => {
      const alice = newUserId();
      const bob = newUserId();
      const [ca, cb] = await Promise.all([connect(alice, 0), connect(bob, 1)]);
      const { message } = await ok(ca, "message:send", {
        recipientId: bob,
        clientMsgId: "first",
        content: "hi there",
      });
      const opened = await ok(cb, "conversation:open", { peerId: alice });
      expectWireMessage(message, {
        conversationId: opened.conversation.conversationId,
        senderId: alice,
        clientMsgId: "first",
        content: "hi there",
      });
      expect(await history(cb, message.conversationId)).to.deep.equal([message]);
      const again = await ok(ca, "message:send", {
        recipientId: bob,
        clientMsgId: "second",
        content: "again",
      });
      expect(again.message.conversationId).to.equal(message.conversationId);
    });

    it("accepts content of exactly 4,000 characters and a 64-character clientMsgId", async () => {
      const { ca, cb, conversationId } = await pair();
      const content = "x".repeat(4000);
      const clientMsgId = "a".repeat(64);
      const { message } = await ok(ca, "message:send", { conversationId, clientMsgId, content });
      expect(message.content).to.equal(content);
      expect(message.clientMsgId).to.equal(clientMsgId);
      expect(await history(cb, conversationId)).to.deep.equal([message]);
    });

    describe("BAD_REQUEST for a malformed payload, and nothing stored or delivered", () => {
      let p: Awaited<ReturnType<typeof pair>>;
      let atBob: Message[];
      let atAlice: Message[];
      let othersConversation: string;
      before(async () => {
        p = await pair();
        atBob = collect(p.cb, "message:new");
        atAlice = collect(p.ca, "message:new");
        othersConversation = (await pair()).conversationId;
      });

      const cases: [string, (c: string, me: string, peer: string) => unknown][] = [
        ["empty content", (c) => ({ conversationId: c, clientMsgId: "b1", content: "" })],
        ["blank content", (c) => ({ conversationId: c, clientMsgId: "b2", content: " \n\t " })],
        [
          "content of 4,001 characters",
          (c) => ({ conversationId: c, clientMsgId: "b3", content: "x".repeat(4001) }),
        ],
        [
          "clientMsgId with a space",
          (c) => ({ conversationId: c, clientMsgId: "b 4", content: "hi" }),
        ],
        [
          "clientMsgId with a slash",
          (c) => ({ conversationId: c, clientMsgId: "b/5", content: "hi" }),
        ],
        [
          "clientMsgId with a non-ASCII letter",
          (c) => ({ conversationId: c, clientMsgId: "bé6", content: "hi" }),
        ],
        [
          "clientMsgId of 65 characters",
          (c) => ({ conversationId: c, clientMsgId: "b".repeat(65), content: "hi" }),
        ],
        ["empty clientMsgId", (c) => ({ conversationId: c, clientMsgId: "", content: "hi" })],
        ["missing clientMsgId", (c) => ({ conversationId: c, content: "hi" })],
        ["missing content", (c) => ({ conversationId: c, clientMsgId: "b7" })],
        [
          "both conversationId and recipientId",
          (c, _me, peer) => ({
            conversationId: c,
            recipientId: peer,
            clientMsgId: "b8",
            content: "hi",
          }),
        ],
        ["neither conversationId nor recipientId", () => ({ clientMsgId: "b9", content: "hi" })],
        [
          "conversationId not a UUID",
          () => ({ conversationId: "not-a-uuid", clientMsgId: "b10", content: "hi" }),
        ],
        [
          "recipientId not a UUID",
          () => ({ recipientId: "12345", clientMsgId: "b11", content: "hi" }),
        ],
        ["content a number", (c) => ({ conversationId: c, clientMsgId: "b12", content: 42 })],
        ["content an array", (c) => ({ conversationId: c, clientMsgId: "b13", content: ["hi"] })],
        ["content null", (c) => ({ conversationId: c, clientMsgId: "b14", content: null })],
        ["clientMsgId a number", (c) => ({ conversationId: c, clientMsgId: 15, content: "hi" })],
        [
          "conversationId a number",
          () => ({ conversationId: 16, clientMsgId: "b16", content: "hi" }),
        ],
        [
          "recipientId an object",
          (_c, _me, peer) => ({ recipientId: { id: peer }, clientMsgId: "b17", content: "hi" }),
        ],
        [
          "an extra unknown key",
          (c) => ({ conversationId: c, clientMsgId: "b18", content: "hi", priority: "high" }),
        ],
        ["a string payload", () => "hello"],
        ["a number payload", () => 42],
        ["a null payload", () => null],
        ["an empty array payload", () => []],
        [
          "an array holding a valid payload",
          (c) => [{ conversationId: c, clientMsgId: "b19", content: "hi" }],
        ],
        [
          "bad content into an unknown conversation (validated before lookup)",
          () => ({ conversationId: randomUuid(), clientMsgId: "b20", content: "" }),
        ],
      ];
      for (const [name, build] of cases) {
        it(name, async () => {
          await fails(p.ca, "message:send", build(p.conversationId, p.alice, p.bob), "BAD_REQUEST");
        });
      }

      it("bad content into someone else's conversation is BAD_REQUEST, not NOT_FOUND", async () => {
        await fails(
          p.ca,
          "message:send",
          { conversationId: othersConversation, clientMsgId: "b21", content: "   " },
          "BAD_REQUEST",
        );
      });

      it("none of them was stored or delivered", async () => {
        const control = await say(p.ca, p.conversationId, "control");
        await eventually(() => atBob.length >= 1, 5000, "control message at bob");
        await sleep(QUIET_MS);
        expect(ids(atBob)).to.deep.equal([control.messageId]);
        expect(atAlice).to.deep.equal([]);
        expect(ids(await history(p.cb, p.conversationId))).to.deep.equal([control.messageId]);
        // None of the refused clientMsgIds was recorded: reusing one sends a new message.
        const reuse = await ok(p.ca, "message:send", {
          conversationId: p.conversationId,
          clientMsgId: "b1",
          content: "reused id",
        });
        expect(reuse.message.content).to.equal("reused id");
      });
    });

    it("NOT_FOUND into a conversation the caller is not in: nothing stored, nothing delivered", async () => {
      const { alice, ca, cb, conversationId } = await pair();
      const mallory = newUserId();
      const cm = await connect(mallory, 1);
      const seen = [ca, cb, cm].map((c) => collect(c, "message:new"));
      const before = await say(ca, conversationId, "before");
      await eventually(() => seen[1]!.length === 1, 5000, "first message at bob");

      await fails(
        cm,
        "message:send",
        { conversationId, clientMsgId: "intrude", content: "let me in" },
        "NOT_FOUND",
      );

      const control = await say(ca, conversationId, "after");
      await eventually(() => seen[1]!.length === 2, 5000, "control message at bob");
      await sleep(QUIET_MS);
      expect(seen.map(ids)).to.deep.equal([[], [before.messageId, control.messageId], []]);
      const expected = [control.messageId, before.messageId];
      expect(ids(await history(ca, conversationId))).to.deep.equal(expected);
      expect(ids(await history(cb, conversationId))).to.deep.equal(expected);
      // The refused clientMsgId was not recorded for mallory either.
      const own = await ok(cm, "message:send", {
        recipientId: alice,
        clientMsgId: "intrude",
        content: "hello alice",
      });
      expect(own.message.conversationId).to.not.equal(conversationId);
      expect(own.message.content).to.equal("hello alice");
    });

    it("NOT_FOUND for an unknown conversationId", async () => {
      const client = await connect(newUserId());
      await fails(
        client,
        "message:send",
        { conversationId: randomUuid(), clientMsgId: "nf", content: "anyone?" },
        "NOT_FOUND",
      );
    });

    it("BAD_REQUEST when recipientId is the caller (in any letter case)", async () => {
      const me = newUserId();
      const client = await connect(me);
      await fails(
        client,
        "message:send",
        { recipientId: me, clientMsgId: "self", content: "note to self" },
        "BAD_REQUEST",
      );
      await fails(
        client,
        "message:send",
        { recipientId: me.toUpperCase(), clientMsgId: "self2", content: "note to self" },
        "BAD_REQUEST",
      );
      expect((await ok(client, "conversations:list", {})).conversations).to.deep.equal([]);
    });

    it("a callback with no payload is answered: conversations:list lists, the others say BAD_REQUEST", async () => {
      const { ca, conversationId } = await pair();
      const callbackOnly = (event: RequestEvent) =>
        new Promise<unknown>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${event}: no answer`)), 5000);
          (ca.emit as (ev: string, cb: (a: unknown) => void) => void).call(ca, event, (a) => {
            clearTimeout(timer);
            resolve(a);
          });
        });
      const list = (await callbackOnly("conversations:list")) as { ok: boolean; conversations: [] };
      expect(list.ok).to.equal(true);
      expect(convIds(list.conversations)).to.deep.equal([conversationId]);
      for (const event of ["message:send", "history:fetch", "typing"] as const) {
        expectFailure(await callbackOnly(event), "BAD_REQUEST", event);
      }
    });

    it("without an ack callback: no answer, no crash, nothing stored or delivered", async () => {
      const { bob, ca, cb, conversationId } = await pair();
      const atBob = collect(cb, "message:new");
      const atBobConversations = collect(cb, "conversation:new");
      const stranger = newUserId();
      emitWithoutAck(ca, "message:send", { conversationId, clientMsgId: "silent", content: "x" });
      emitWithoutAck(ca, "message:send", {
        recipientId: stranger,
        clientMsgId: "s2",
        content: "x",
      });
      emitWithoutAck(ca, "message:send", { conversationId, clientMsgId: "bad id", content: "" });
      emitWithoutAck(ca, "conversation:create", { participantIds: [bob], title: "silent" });

      // The same socket still answers, and what it sends now is the only thing stored.
      const control = await say(ca, conversationId, "control");
      await eventually(() => atBob.length >= 1, 5000, "control message at bob");
      await sleep(QUIET_MS);
      expect(ca.connected).to.equal(true);
      expect(ids(atBob)).to.deep.equal([control.messageId]);
      expect(atBobConversations).to.deep.equal([]);
      expect(ids(await history(cb, conversationId))).to.deep.equal([control.messageId]);
      const list = await ok(ca, "conversations:list", {});
      expect(convIds(list.conversations)).to.deep.equal([conversationId]);
      // "silent" was never recorded: sending it now stores a new message.
      const retry = await ok(ca, "message:send", {
        conversationId,
        clientMsgId: "silent",
        content: "now with ack",
      });
      expect(retry.message.content).to.equal("now with ack");
    });

    it("PAYLOAD_TOO_LARGE for a frame over the size limit, and the socket stays usable", async () => {
      const { ca, conversationId } = await pair();
      let dropped: string | null = null;
      ca.on("disconnect", (reason) => {
        dropped = reason;
      });
      const answer = await raw(
        ca,
        "message:send",
        { conversationId, clientMsgId: "huge", content: "x".repeat(100_000) },
        2000,
      ).catch((err: unknown) => ({ rejected: String(err), disconnect: dropped }));
      expectFailure(answer, "PAYLOAD_TOO_LARGE", "message:send of 100,000 characters");
      expect(ca.connected).to.equal(true);
    });
  });

  describe("history:fetch", () => {
    it("pages newest first with the default limit of 50, then null cursor", async () => {
      const { ca, cb, conversationId } = await pair();
      const sent = await Promise.all(
        Array.from({ length: 52 }, (_, i) => say(ca, conversationId, `m${i}`)),
      );
      const expected = newestFirst(sent);
      const first = await ok(cb, "history:fetch", { conversationId });
      expect(first).to.have.all.keys("ok", "messages", "nextCursor");
      expect(first.messages).to.have.length(50);
      expect(first.messages).to.deep.equal(expected.slice(0, 50));
      expect(first.nextCursor).to.be.a("string");
      const second = await ok(cb, "history:fetch", {
        conversationId,
        cursor: first.nextCursor!,
      });
      expect(second.messages).to.deep.equal(expected.slice(50));
      expect(second.nextCursor).to.equal(null);
    });

    it('limit 1 and 100 are accepted; 0, 101, -1, 1.5 and "10" are BAD_REQUEST', async () => {
      const { ca, conversationId } = await pair();
      const a = await say(ca, conversationId, "a");
      const b = await say(ca, conversationId, "b");
      const one = await ok(ca, "history:fetch", { conversationId, limit: 1 });
      expect(ids(one.messages)).to.deep.equal([b.messageId]);
      expect(one.nextCursor).to.be.a("string");
      const hundred = await ok(ca, "history:fetch", { conversationId, limit: 100 });
      expect(ids(hundred.messages)).to.deep.equal([b.messageId, a.messageId]);
      expect(hundred.nextCursor).to.equal(null);
      for (const limit of [0, 101, -1, 1.5, "10", null]) {
        await fails(ca, "history:fetch", { conversationId, limit }, "BAD_REQUEST");
      }
    });

    it("BAD_REQUEST for a cursor this server did not issue", async () => {
      const { ca, conversationId } = await pair();
      await say(ca, conversationId);
      const foreign = Buffer.from(JSON.stringify({ v: 1, m: "yesterday" })).toString("base64url");
      const listCursor = Buffer.from(
        JSON.stringify({ v: 1, s: 0, u: 0, c: conversationId }),
      ).toString("base64url");
      for (const cursor of ["garbage", "!!!", "", "x".repeat(513), foreign, listCursor, 7]) {
        await fails(ca, "history:fetch", { conversationId, cursor }, "BAD_REQUEST");
      }
    });

    it("a garbage cursor is BAD_REQUEST whatever the conversation id points to", async () => {
      const { conversationId } = await pair();
      const stranger = await connect(newUserId());
      const answers = {
        unknownConversation: await raw(stranger, "history:fetch", {
          conversationId: randomUuid(),
          cursor: "garbage",
        }),
        notAParticipant: await raw(stranger, "history:fetch", {
          conversationId,
          cursor: "garbage",
        }),
      };
      const codes = Object.fromEntries(
        Object.entries(answers).map(([k, a]) => [
          k,
          (a as { error?: { code?: string } }).error?.code,
        ]),
      );
      expect(codes).to.deep.equal({
        unknownConversation: "BAD_REQUEST",
        notAParticipant: "BAD_REQUEST",
      });
      for (const [k, a] of Object.entries(answers)) expectFailure(a, "BAD_REQUEST", k);
    });

    it("`before` an ISO time (Z or offset) or a messageId returns only older messages", async () => {
      const { ca, cb, conversationId } = await pair();
      const sent: Message[] = [];
      for (let i = 0; i < 4; i++) {
        sent.push(await say(ca, conversationId, `t${i}`));
        await sleep(3);
      }
      const pivot = sent[2]!;
      const olderThanPivotMs = newestFirst(sent).filter(
        (m) => messageIdTime(m.messageId) < messageIdTime(pivot.messageId),
      );
      expect(olderThanPivotMs.length).to.be.greaterThan(0);

      const byTime = await ok(cb, "history:fetch", { conversationId, before: pivot.sentAt });
      expect(ids(byTime.messages)).to.deep.equal(ids(olderThanPivotMs));
      expect(byTime.nextCursor).to.equal(null);

      const shifted = new Date(Date.parse(pivot.sentAt) + 2 * 3600_000).toISOString();
      const withOffset = shifted.replace("Z", "+02:00");
      const byOffset = await ok(cb, "history:fetch", { conversationId, before: withOffset });
      expect(ids(byOffset.messages)).to.deep.equal(ids(olderThanPivotMs));

      const byId = await ok(cb, "history:fetch", { conversationId, before: pivot.messageId });
      expect(ids(byId.messages)).to.deep.equal([sent[1]!.messageId, sent[0]!.messageId]);

      const paged = await ok(cb, "history:fetch", {
        conversationId,
        before: sent[3]!.messageId,
        limit: 2,
      });
      expect(ids(paged.messages)).to.deep.equal([sent[2]!.messageId, sent[1]!.messageId]);
      const rest = await ok(cb, "history:fetch", {
        conversationId,
        cursor: paged.nextCursor!,
        limit: 2,
      });
      expect(ids(rest.messages)).to.deep.equal([sent[0]!.messageId]);
      expect(rest.nextCursor).to.equal(null);
    });

    it("`before` a time long ago gives an empty page, one far ahead every message", async () => {
      const { ca, conversationId } = await pair();
      const a = await say(ca, conversationId, "a");
      const b = await say(ca, conversationId, "b");
      const answers: Record<string, unknown> = {};
      for (const before of ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"]) {
        answers[before] = await raw(ca, "history:fetch", { conversationId, before });
      }
      expect(answers).to.deep.equal({
        "0001-01-01T00:00:00Z": { ok: true, messages: [], nextCursor: null },
        "9999-12-31T23:59:59.999Z": { ok: true, messages: [b, a], nextCursor: null },
      });
    });

    it("BAD_REQUEST for a `before` that is neither an ISO time nor a v1 id", async () => {
      const { ca, conversationId } = await pair();
      for (const before of ["yesterday", "2024-13-01T00:00:00Z", randomUuid(), 1700000000000]) {
        await fails(ca, "history:fetch", { conversationId, before }, "BAD_REQUEST");
      }
      for (const payload of [{}, { conversationId: "nope" }, { conversationId, extra: 1 }, null]) {
        await fails(ca, "history:fetch", payload, "BAD_REQUEST");
      }
    });

    it("NOT_FOUND for an unknown conversation and for a stranger", async () => {
      const { conversationId } = await pair();
      const stranger = await connect(newUserId(), 1);
      await fails(stranger, "history:fetch", { conversationId: randomUuid() }, "NOT_FOUND");
      await fails(stranger, "history:fetch", { conversationId }, "NOT_FOUND");
    });
  });

  describe("history:since", () => {
    it("returns newer messages oldest first, with hasMore", async () => {
      const { ca, cb, conversationId } = await pair();
      const sent: Message[] = [];
      for (let i = 0; i < 4; i++) sent.push(await say(i % 2 ? cb : ca, conversationId, `s${i}`));
      const [m0, m1, m2, m3] = sent as [Message, Message, Message, Message];

      const page1 = await ok(cb, "history:since", {
        conversationId,
        after: m0.messageId,
        limit: 2,
      });
      expect(page1).to.have.all.keys("ok", "messages", "hasMore");
      expect(page1.messages).to.deep.equal([m1, m2]);
      expect(page1.hasMore).to.equal(true);
      const page2 = await ok(cb, "history:since", {
        conversationId,
        after: m2.messageId,
        limit: 2,
      });
      expect(page2.messages).to.deep.equal([m3]);
      expect(page2.hasMore).to.equal(false);
      const all = await ok(ca, "history:since", { conversationId, after: m0.messageId });
      expect(all.messages).to.deep.equal([m1, m2, m3]);
      expect(all.hasMore).to.equal(false);
      const none = await ok(ca, "history:since", { conversationId, after: m3.messageId });
      expect(none).to.deep.equal({ ok: true, messages: [], hasMore: false });
    });

    it("BAD_REQUEST when `after` is not a v1 id, or limit is out of bounds", async () => {
      const { ca, conversationId } = await pair();
      const m = await say(ca, conversationId);
      for (const after of [randomUuid(), "abc", "", 5, null, undefined]) {
        await fails(ca, "history:since", { conversationId, after }, "BAD_REQUEST");
      }
      for (const limit of [0, 101]) {
        await fails(
          ca,
          "history:since",
          { conversationId, after: m.messageId, limit },
          "BAD_REQUEST",
        );
      }
    });

    it("NOT_FOUND when `after` is a well-formed v1 id that is not in the conversation", async () => {
      const { ca, conversationId } = await pair();
      await say(ca, conversationId);
      const other = await pair();
      const elsewhere = await say(other.ca, other.conversationId);
      for (const after of [timeUuid(), elsewhere.messageId]) {
        await fails(ca, "history:since", { conversationId, after }, "NOT_FOUND");
      }
    });

    it("NOT_FOUND for a stranger and for an unknown conversation", async () => {
      const { ca, conversationId } = await pair();
      const m = await say(ca, conversationId);
      const stranger = await connect(newUserId(), 1);
      await fails(stranger, "history:since", { conversationId, after: m.messageId }, "NOT_FOUND");
      await fails(
        stranger,
        "history:since",
        { conversationId: randomUuid(), after: m.messageId },
        "NOT_FOUND",
      );
    });
  });

  describe("conversations:list", () => {
    let me: string;
    let client: Client;
    let peers: string[];
    let expected: Conversation[];

    before(async () => {
      me = newUserId();
      client = await connect(me, 0);
      peers = Array.from({ length: 5 }, () => newUserId());
      const opened: Conversation[] = [];
      for (const peer of peers) {
        opened.push((await ok(client, "conversation:open", { peerId: peer })).conversation);
      }
      // Activity order differs from creation order: 3, 1, 4, 0, 2 (2 is the most recent).
      const last = new Map<string, Message>();
      for (const i of [3, 1, 4, 0, 2]) {
        const c = opened[i]!;
        last.set(c.conversationId, await say(client, c.conversationId, `to peer ${i}`));
        await sleep(3);
      }
      expected = [2, 0, 4, 1, 3].map((i) => {
        const c = opened[i]!;
        const m = last.get(c.conversationId)!;
        return { ...c, lastMessage: summary(m), lastUpdated: m.sentAt };
      });
      // Conversations of other people, which must not show.
      const x = await connect(newUserId(), 1);
      await ok(x, "conversation:create", { participantIds: [peers[0]!, newUserId()] });
      await ok(x, "message:send", { recipientId: peers[1]!, clientMsgId: "x1", content: "x" });
    });

    it("lists most recent activity first, each with participantIds and lastMessage", async () => {
      const answer = await ok(client, "conversations:list", {});
      expect(answer).to.have.all.keys("ok", "conversations", "nextCursor");
      expect(answer.conversations).to.deep.equal(expected);
      expect(answer.nextCursor).to.equal(null);
      for (const c of answer.conversations) {
        expect(c.kind).to.equal("direct");
        expect(c.participantIds).to.include(me);
        expect(c.participantIds).to.have.length(2);
      }
    });

    it("pages with limit 2: every conversation exactly once, in order", async () => {
      const seen: Conversation[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const page: { conversations: Conversation[]; nextCursor: string | null } = await ok(
          client,
          "conversations:list",
          cursor ? { limit: 2, cursor } : { limit: 2 },
        );
        seen.push(...page.conversations);
        sizes.push(page.conversations.length);
        cursor = page.nextCursor;
      } while (cursor && sizes.length < 10);
      expect(sizes).to.deep.equal([2, 2, 1]);
      expect(convIds(seen)).to.deep.equal(convIds(expected));
    });

    it("a user never sees conversations they are not in", async () => {
      const peerList = await ok(await connect(peers[4]!, 1), "conversations:list", {});
      expect(convIds(peerList.conversations)).to.deep.equal([expected[2]!.conversationId]);
      const strangerList = await ok(await connect(newUserId(), 1), "conversations:list", {});
      expect(strangerList).to.deep.equal({ ok: true, conversations: [], nextCursor: null });
    });

    it("defaults to 20 conversations a page", async () => {
      const busy = await connect(newUserId(), 1);
      await Promise.all(
        Array.from({ length: 21 }, () => ok(busy, "conversation:open", { peerId: newUserId() })),
      );
      const first = await ok(busy, "conversations:list", {});
      expect(first.conversations).to.have.length(20);
      expect(first.nextCursor).to.be.a("string");
      const second = await ok(busy, "conversations:list", { cursor: first.nextCursor! });
      expect(second.conversations).to.have.length(1);
      expect(second.nextCursor).to.equal(null);
      const all = new Set(convIds([...first.conversations, ...second.conversations]));
      expect(all.size).to.equal(21);
    });

    it("BAD_REQUEST for limits out of 1-100 and for cursors it did not issue", async () => {
      expect((await ok(client, "conversations:list", { limit: 1 })).conversations).to.have.length(
        1,
      );
      expect((await ok(client, "conversations:list", { limit: 100 })).conversations).to.have.length(
        5,
      );
      for (const limit of [0, 101, 2.5, "5"]) {
        await fails(client, "conversations:list", { limit }, "BAD_REQUEST");
      }
      const historyCursor = Buffer.from(JSON.stringify({ v: 1, m: timeUuid() })).toString(
        "base64url",
      );
      for (const cursor of ["garbage", "", historyCursor, 12]) {
        await fails(client, "conversations:list", { cursor }, "BAD_REQUEST");
      }
      for (const payload of [null, "all", { limit: 5, extra: true }]) {
        await fails(client, "conversations:list", payload, "BAD_REQUEST");
      }
    });
  });

  describe("conversation:open", () => {
    it("gives both users the same id whoever opens first; conversation:new once, on creation", async () => {
      const alice = newUserId();
      const bob = newUserId();
      const [ca, ca2, cb] = await Promise.all([
        connect(alice, 0),
        connect(alice, 1),
        connect(bob, 1),
      ]);
      const news = [ca, ca2, cb].map((c) => collect(c, "conversation:new"));
      const byBob = await ok(cb, "conversation:open", { peerId: alice });
      expect(byBob).to.have.all.keys("ok", "conversation");
      const conversation = byBob.conversation;
      expect(conversation.kind).to.equal("direct");
      expect(conversation.participantIds).to.have.members([alice, bob]);
      expect(conversation.lastMessage).to.equal(null);
      expect(conversation).to.not.have.property("title");
      await eventually(() => news.every((n) => n.length >= 1), 5000, "conversation:new");

      const byAlice = await ok(ca, "conversation:open", { peerId: bob });
      expect(byAlice.conversation.conversationId).to.equal(conversation.conversationId);
      const again = await ok(cb, "conversation:open", { peerId: alice.toUpperCase() });
      expect(again.conversation.conversationId).to.equal(conversation.conversationId);
      const ofAlice2 = await ok(ca2, "conversation:open", { peerId: bob });
      expect(ofAlice2.conversation.conversationId).to.equal(conversation.conversationId);

      // A marker created after the re-opens bounds the wait for anything they might have sent.
      const marker = await ok(ca, "conversation:create", { participantIds: [bob] });
      await eventually(() => news.every((n) => n.length >= 2), 5000, "marker conversation:new");
      await sleep(QUIET_MS);
      for (const n of news) {
        expect(convIds(n)).to.deep.equal([
          conversation.conversationId,
          marker.conversation.conversationId,
        ]);
        expect(n[0]).to.deep.equal(conversation);
      }
    });

    it("answers the conversation as it is now, with its lastMessage, when opened again", async () => {
      const { ca, cb, bob, alice, conversationId } = await pair();
      const m = await say(ca, conversationId, "latest");
      const reopenedByAlice = await ok(ca, "conversation:open", { peerId: bob });
      const reopenedByBob = await ok(cb, "conversation:open", { peerId: alice });
      expect({
        byAlice: reopenedByAlice.conversation.lastMessage,
        byBob: reopenedByBob.conversation.lastMessage,
      }).to.deep.equal({ byAlice: summary(m), byBob: summary(m) });
      expect(reopenedByAlice.conversation.lastUpdated).to.equal(m.sentAt);
      expect(reopenedByBob.conversation.conversationId).to.equal(conversationId);
    });

    it("BAD_REQUEST for the caller themself, a non-UUID, or a malformed payload", async () => {
      const me = newUserId();
      const client = await connect(me);
      const news = collect(client, "conversation:new");
      for (const payload of [
        { peerId: me },
        { peerId: me.toUpperCase() },
        { peerId: "bob" },
        { peerId: 42 },
        {},
        { peerId: newUserId(), extra: 1 },
        null,
        [newUserId()],
      ]) {
        await fails(client, "conversation:open", payload, "BAD_REQUEST");
      }
      expect((await ok(client, "conversations:list", {})).conversations).to.deep.equal([]);
      expect(news).to.deep.equal([]);
    });
  });

  describe("conversation:create", () => {
    it("creates a group with a title, the caller included, and tells every participant", async () => {
      const [alice, bob, carol] = [newUserId(), newUserId(), newUserId()];
      const sockets = await Promise.all([connect(alice, 0), connect(bob, 1), connect(carol, 0)]);
      const news = sockets.map((s) => collect(s, "conversation:new"));
      const answer = await ok(sockets[0]!, "conversation:create", {
        participantIds: [bob, carol.toUpperCase(), bob],
        title: "Weekend plans",
      });
      expect(answer).to.have.all.keys("ok", "conversation");
      const { conversation } = answer;
      expect(conversation.kind).to.equal("group");
      expect(conversation.title).to.equal("Weekend plans");
      expect(conversation.participantIds).to.have.members([alice, bob, carol]);
      expect(conversation.participantIds).to.have.length(3);
      expect(conversation.lastMessage).to.equal(null);
      expect(Date.parse(conversation.lastUpdated)).to.be.within(Date.now() - 10_000, Date.now());
      await eventually(() => news.every((n) => n.length >= 1), 5000, "conversation:new");
      await sleep(QUIET_MS);
      for (const n of news) expect(n).to.deep.equal([conversation]);
      // Each participant can use it.
      const m = await say(sockets[2]!, conversation.conversationId, "hi all");
      expect(ids(await history(sockets[1]!, conversation.conversationId))).to.deep.equal([
        m.messageId,
      ]);
    });

    it("a group without a title has no title", async () => {
      const client = await connect(newUserId());
      const { conversation } = await ok(client, "conversation:create", {
        participantIds: [newUserId()],
      });
      expect(conversation).to.not.have.property("title");
      expect(conversation.kind).to.equal("group");
    });

    it("BAD_REQUEST for no other participant, non-UUID entries, or a bad title", async () => {
      const me = newUserId();
      const client = await connect(me);
      const news = collect(client, "conversation:new");
      const other = newUserId();
      for (const payload of [
        { participantIds: [] },
        { participantIds: [me] },
        { participantIds: [me, me.toUpperCase()] },
        { participantIds: ["bob"] },
        { participantIds: [other, "bob"] },
        { participantIds: [other, 7] },
        { participantIds: other },
        { participantIds: [other], title: "t".repeat(201) },
        { participantIds: [other], title: "   " },
        { participantIds: [other], title: 5 },
        { participantIds: [other], extra: true },
        { participantIds: Array.from({ length: 256 }, () => newUserId()) },
        {},
        null,
        "group",
      ]) {
        await fails(client, "conversation:create", payload, "BAD_REQUEST");
      }
      expect((await ok(client, "conversations:list", {})).conversations).to.deep.equal([]);
      expect(news).to.deep.equal([]);
    });
  });

  describe("message:read", () => {
    it("answers ok; the other participants get a receipt, the reader does not", async () => {
      const [alice, bob, carol] = [newUserId(), newUserId(), newUserId()];
      const [ca, cb, cb2, cc] = await Promise.all([
        connect(alice, 0),
        connect(bob, 1),
        connect(bob, 0),
        connect(carol, 1),
      ]);
      const receipts = [ca, cb, cb2, cc].map((c) => collect(c, "receipt"));
      const { conversation } = await ok(ca, "conversation:create", {
        participantIds: [bob, carol],
      });
      const conversationId = conversation.conversationId;
      const m = await say(ca, conversationId, "read me");
      const from = Date.now();
      const answer = await raw(cb, "message:read", { conversationId, messageId: m.messageId });
      const to = Date.now();
      expect(answer).to.deep.equal({ ok: true });
      await eventually(
        () => receipts[0]!.length >= 1 && receipts[3]!.length >= 1,
        5000,
        "receipts at alice and carol",
      );
      await sleep(QUIET_MS);
      for (const i of [0, 3]) {
        expect(receipts[i]).to.have.length(1);
        const r = receipts[i]![0]!;
        expect(r).to.have.all.keys("conversationId", "userId", "messageId", "readAt");
        expect(r).to.include({ conversationId, userId: bob, messageId: m.messageId });
        expect(r.readAt).to.match(ISO_MS_UTC);
        expect(Date.parse(r.readAt)).to.be.within(from - 1000, to + 1000);
      }
      expect(receipts[1]).to.deep.equal([]);
      expect(receipts[2]).to.deep.equal([]);
    });

    it("NOT_FOUND for a message id not in the conversation or an unknown conversation", async () => {
      const { ca, cb, conversationId } = await pair();
      await say(ca, conversationId);
      const receipts = collect(ca, "receipt");
      const other = await pair();
      const elsewhere = await say(other.ca, other.conversationId);
      for (const messageId of [timeUuid(), elsewhere.messageId]) {
        await fails(cb, "message:read", { conversationId, messageId }, "NOT_FOUND");
      }
      await fails(
        cb,
        "message:read",
        { conversationId: randomUuid(), messageId: elsewhere.messageId },
        "NOT_FOUND",
      );
      await sleep(QUIET_MS);
      expect(receipts).to.deep.equal([]);
    });

    it("a read position only moves forward: reading an older message again sends no receipt", async () => {
      const { bob, ca, cb, conversationId } = await pair();
      const [older, newer] = [
        await say(ca, conversationId, "1"),
        await say(ca, conversationId, "2"),
      ];
      const receipts = collect(ca, "receipt");
      await ok(cb, "message:read", { conversationId, messageId: newer.messageId });
      await eventually(() => receipts.length === 1, 5000, "the receipt of the newer message");
      expect(
        await raw(cb, "message:read", { conversationId, messageId: older.messageId }),
      ).to.deep.equal({ ok: true });
      await ok(cb, "message:read", { conversationId, messageId: newer.messageId });
      await sleep(QUIET_MS);
      expect(receipts.map((r) => [r.userId, r.messageId])).to.deep.equal([[bob, newer.messageId]]);
      const db = await openTestDb();
      try {
        const row = await db.execute(
          "SELECT message_id FROM read_positions WHERE conversation_id = ? AND user_id = ?",
          [conversationId, bob],
        );
        expect(String(row.first().get("message_id"))).to.equal(newer.messageId);
      } finally {
        await db.client.shutdown();
      }
    });

    it("NOT_FOUND for a stranger, and no receipt", async () => {
      const { bob, ca, cb, conversationId } = await pair();
      const m = await say(ca, conversationId);
      const receipts = [ca, cb].map((c) => collect(c, "receipt"));
      const stranger = await connect(newUserId(), 1);
      await fails(
        stranger,
        "message:read",
        { conversationId, messageId: m.messageId },
        "NOT_FOUND",
      );
      await ok(cb, "message:read", { conversationId, messageId: m.messageId });
      await eventually(() => receipts[0]!.length >= 1, 5000, "control receipt");
      await sleep(QUIET_MS);
      expect(receipts[0]!.map((r) => r.userId)).to.deep.equal([bob]);
      expect(receipts[1]).to.deep.equal([]);
    });

    it("BAD_REQUEST for a malformed messageId or payload", async () => {
      const { ca, conversationId } = await pair();
      const m = await say(ca, conversationId);
      for (const payload of [
        { conversationId, messageId: "123" },
        { conversationId, messageId: randomUuid() },
        { conversationId, messageId: 5 },
        { conversationId },
        { messageId: m.messageId },
        { conversationId: "c1", messageId: m.messageId },
        { conversationId, messageId: m.messageId, at: 1 },
        null,
      ]) {
        await fails(ca, "message:read", payload, "BAD_REQUEST");
      }
    });
  });

  describe("typing", () => {
    it("answers ok and relays to the other participant, not to the sender's own sockets", async () => {
      const { alice, ca, cb, conversationId } = await pair();
      const ca2 = await connect(alice, 1);
      const atAlice = collect(ca, "typing");
      const atAlice2 = collect(ca2, "typing");
      const atBob = collect(cb, "typing");
      expect(await raw(ca, "typing", { conversationId, typing: true })).to.deep.equal({ ok: true });
      await eventually(() => atBob.length >= 1, 5000, "typing at bob");
      expect(await raw(ca, "typing", { conversationId, typing: false })).to.deep.equal({
        ok: true,
      });
      await eventually(() => atBob.length >= 2, 5000, "typing stop at bob");
      await sleep(QUIET_MS);
      expect(atBob).to.deep.equal([
        { conversationId, userId: alice, typing: true },
        { conversationId, userId: alice, typing: false },
      ]);
      expect(atAlice).to.deep.equal([]);
      expect(atAlice2).to.deep.equal([]);
    });

    it("NOT_FOUND for a stranger and an unknown conversation, BAD_REQUEST if malformed", async () => {
      const { cb, conversationId } = await pair();
      const atBob = collect(cb, "typing");
      const stranger = await connect(newUserId(), 0);
      await fails(stranger, "typing", { conversationId, typing: true }, "NOT_FOUND");
      await fails(stranger, "typing", { conversationId: randomUuid(), typing: true }, "NOT_FOUND");
      for (const payload of [
        { conversationId, typing: "yes" },
        { conversationId },
        { conversationId: "x", typing: true },
        { conversationId, typing: true, extra: 1 },
        null,
      ]) {
        await fails(cb, "typing", payload, "BAD_REQUEST");
      }
      await sleep(QUIET_MS);
      expect(atBob).to.deep.equal([]);
    });
  });
});
