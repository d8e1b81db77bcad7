// Edits, deletion, reactions, replies and the change feed (docs/protocol.md "Changing
// messages"), on three real gateway nodes: each request's success, its errors, and its events on
// every node.
import { expect } from "chai";
import { v1 as timeUuid } from "uuid";
import { MAX_CONTENT_CHARS, REPLY_PREVIEW_CHARS } from "../shared/limits.js";
import type { Message } from "../shared/protocol.js";
import { bucketOf } from "../gateway/services/ids.js";
import type { Db } from "../gateway/storage/cassandra.js";
import { fails } from "./support/answers.js";
import {
  type Client,
  collect,
  eventually,
  newUserId,
  ok,
  QUIET_MS,
  sleep,
  TestCluster,
} from "./support/cluster.js";
import { openTestDb } from "./support/db.js";

describe("changing messages", function () {
  this.timeout(30_000);
  const cluster = new TestCluster();
  let db: Db;
  let seq = 0;

  before(async () => {
    await cluster.start(3, { MAX_REQUESTS_IN_FLIGHT: "100", RATE_LIMIT_CHANGE: "1000/10" });
    db = await openTestDb();
  });
  after(async () => {
    await cluster.stop();
    await db.client.shutdown();
  });

  /** A group of three users, one per node, and a stranger on node 0. */
  async function group() {
    const [alice, bob, carol, eve] = [newUserId(), newUserId(), newUserId(), newUserId()];
    const [ca, cb, cc, ce] = await Promise.all(
      [alice, bob, carol, eve].map((u, i) => cluster.connect(cluster.nodes[i % 3]!, u)),
    );
    const news = [cb!, cc!].map((c) => collect(c, "conversation:new"));
    const { conversation } = await ok(ca!, "conversation:create", { participantIds: [bob, carol] });
    await eventually(() => news.every((n) => n.length === 1), 5000, "conversation:new");
    return {
      alice,
      bob,
      carol,
      ca: ca!,
      cb: cb!,
      cc: cc!,
      ce: ce!,
      conversationId: conversation.conversationId,
    };
  }

  const say = async (client: Client, conversationId: string, content = "hello", replyTo?: string) =>
    (
      await ok(client, "message:send", {
        conversationId,
        clientMsgId: `c-${++seq}`,
        content,
        ...(replyTo ? { replyTo } : {}),
      })
    ).message;

  const history = async (client: Client, conversationId: string) =>
    (await ok(client, "history:fetch", { conversationId, limit: 100 })).messages;

  const found = async (client: Client, conversationId: string, messageId: string) =>
    (await history(client, conversationId)).find((m) => m.messageId === messageId);

  const preview = async (client: Client, conversationId: string) =>
    (await ok(client, "conversations:list", { limit: 100 })).conversations.find(
      (c) => c.conversationId === conversationId,
    )?.lastMessage;

  describe("message:edit", () => {
    it("stores the new content with editedAt, tells every other socket on every node, and moves the preview", async () => {
      const { ca, cb, cc, conversationId } = await group();
      const m = await say(ca, conversationId, "helo");
      const events = [ca, cb, cc].map((c) => collect(c, "message:edited"));
      const { message } = await ok(ca, "message:edit", {
        conversationId,
        messageId: m.messageId,
        content: "hello",
      });
      expect(message).to.include({ messageId: m.messageId, content: "hello", version: 1 });
      expect(Date.parse(message.editedAt!)).to.be.within(Date.now() - 5000, Date.now());
      expect(message.sentAt).to.equal(m.sentAt);
      await eventually(() => events[1]!.length === 1 && events[2]!.length === 1, 5000, "edits");
      const expected = {
        conversationId,
        messageId: m.messageId,
        content: "hello",
        editedAt: message.editedAt,
        version: 1,
      };
      expect(events[1]![0]).to.deep.equal(expected);
      expect(events[2]![0]).to.deep.equal(expected);
      await sleep(QUIET_MS);
      expect(events[0], "the editing socket has the answer, not the event").to.deep.equal([]);
      expect(await found(cb, conversationId, m.messageId)).to.deep.equal(message);
      expect(await preview(cc, conversationId)).to.include({
        messageId: m.messageId,
        content: "hello",
        editedAt: message.editedAt,
      });
    });

    it("is idempotent: the same content again answers the same state; unchanged content changes nothing", async () => {
      const { ca, cb, conversationId } = await group();
      const m = await say(ca, conversationId, "same");
      const events = collect(cb, "message:edited");
      const unchanged = await ok(ca, "message:edit", { ...ref(m), content: "same" });
      expect(unchanged.message).to.deep.equal(m);
      const first = await ok(ca, "message:edit", { ...ref(m), content: "new" });
      const again = await ok(ca, "message:edit", { ...ref(m), content: "new" });
      expect(again.message).to.deep.equal(first.message);
      const second = await ok(ca, "message:edit", { ...ref(m), content: "newer" });
      expect(second.message.version).to.equal(2);
      await eventually(() => events.length === 3, 5000, "three edit events");
      expect(events.map((e) => e.version)).to.deep.equal([1, 1, 2]);
      expect((await found(cb, conversationId, m.messageId))?.content).to.equal("newer");
    });

    it("FORBIDDEN for another participant, NOT_FOUND for a stranger, an unknown or a deleted message", async () => {
      const { ca, cb, ce, conversationId } = await group();
      const m = await say(ca, conversationId);
      await fails(cb, "message:edit", { ...ref(m), content: "mine now" }, "FORBIDDEN");
      await fails(ce, "message:edit", { ...ref(m), content: "x" }, "NOT_FOUND");
      const unknown = { conversationId, messageId: timeUuid(), content: "x" };
      await fails(ca, "message:edit", unknown, "NOT_FOUND");
      await ok(ca, "message:delete", ref(m));
      await fails(ca, "message:edit", { ...ref(m), content: "back" }, "NOT_FOUND");
      expect((await found(cb, conversationId, m.messageId))?.content).to.equal("");
    });

    it("BAD_REQUEST for content a send would refuse, and for malformed payloads", async () => {
      const { ca, conversationId } = await group();
      const m = await say(ca, conversationId);
      for (const content of ["", "   ", "x".repeat(MAX_CONTENT_CHARS + 1), 5]) {
        await fails(ca, "message:edit", { ...ref(m), content }, "BAD_REQUEST");
      }
      await fails(ca, "message:edit", { ...ref(m), content: "x", extra: 1 }, "BAD_REQUEST");
      await fails(ca, "message:edit", { conversationId, content: "x" }, "BAD_REQUEST");
      await fails(
        ca,
        "message:edit",
        { ...ref(m), messageId: "nope", content: "x" },
        "BAD_REQUEST",
      );
    });
  });

  describe("message:delete", () => {
    it("leaves a placeholder in place, tells every other socket, moves the preview, and the content is gone from storage", async () => {
      const { ca, cb, cc, alice, conversationId } = await group();
      const before = await say(ca, conversationId, "first");
      const m = await say(ca, conversationId, "regret this");
      const after = await say(cb, conversationId, "third");
      const events = [cb, cc].map((c) => collect(c, "message:deleted"));
      const { message } = await ok(ca, "message:delete", ref(m));
      expect(message).to.deep.equal({
        conversationId,
        messageId: m.messageId,
        senderId: alice,
        clientMsgId: m.clientMsgId,
        content: "",
        sentAt: m.sentAt,
        version: 1001,
        deleted: true,
      });
      await eventually(() => events.every((e) => e.length === 1), 5000, "deletions");
      expect(events[0]![0]).to.deep.equal({ ...ref(m), version: 1001 });
      const ids = (await history(cc, conversationId)).map((x) => x.messageId);
      expect(ids, "the placeholder keeps its place").to.deep.equal([
        after.messageId,
        m.messageId,
        before.messageId,
      ]);
      expect(await found(cc, conversationId, m.messageId)).to.deep.equal(message);

      const row = await db.first(
        "SELECT content, deleted FROM messages_by_conversation WHERE conversation_id = ? AND bucket = ? AND message_id = ?",
        [conversationId, bucketOfDay(m.messageId), m.messageId],
      );
      expect(row?.get("content")).to.equal("");
      expect(row?.get("deleted")).to.equal(true);
      const claim = await db.first(
        "SELECT content FROM messages_by_client_id WHERE sender_id = ? AND client_msg_id = ?",
        [alice, m.clientMsgId],
      );
      expect(claim?.get("content"), "the send's retry record forgets it too").to.equal("");

      // The newest message deleted: the preview shows the placeholder.
      await ok(cb, "message:delete", ref(after));
      expect(await preview(ca, conversationId)).to.deep.include({
        messageId: after.messageId,
        content: "",
        deleted: true,
      });
    });

    it("deleting again answers the same placeholder; FORBIDDEN for others, NOT_FOUND for strangers", async () => {
      const { ca, cb, ce, conversationId } = await group();
      const m = await say(ca, conversationId);
      await fails(cb, "message:delete", ref(m), "FORBIDDEN");
      await fails(ce, "message:delete", ref(m), "NOT_FOUND");
      await fails(ca, "message:delete", { conversationId, messageId: timeUuid() }, "NOT_FOUND");
      const first = await ok(ca, "message:delete", ref(m));
      const again = await ok(ca, "message:delete", ref(m));
      expect(again.message).to.deep.equal(first.message);
      await fails(ca, "message:delete", { ...ref(m), content: "x" }, "BAD_REQUEST");
    });
  });

  describe("reaction:add and reaction:remove", () => {
    it("counts one reaction per user and emoji, says whether the caller reacted, and tells everyone else", async () => {
      const { ca, cb, cc, bob, conversationId } = await group();
      const m = await say(ca, conversationId);
      const atCarol = collect(cc, "reaction");
      const added = await ok(cb, "reaction:add", { ...ref(m), emoji: "👍" });
      expect(added.message.reactions).to.deep.equal([{ emoji: "👍", count: 1, me: true }]);
      const twice = await ok(cb, "reaction:add", { ...ref(m), emoji: "👍" });
      expect(twice.message.reactions).to.deep.equal([{ emoji: "👍", count: 1, me: true }]);
      await ok(ca, "reaction:add", { ...ref(m), emoji: "👍" });
      await ok(ca, "reaction:add", { ...ref(m), emoji: "👨‍👩‍👧" });
      const seen = (await found(cc, conversationId, m.messageId))?.reactions;
      expect(seen).to.have.deep.members([
        { emoji: "👍", count: 2, me: false },
        { emoji: "👨‍👩‍👧", count: 1, me: false },
      ]);
      await eventually(() => atCarol.length === 4, 5000, "reaction events");
      expect(atCarol[0]).to.deep.equal({
        ...ref(m),
        userId: bob,
        emoji: "👍",
        added: true,
        count: 1,
      });
      const removed = await ok(cb, "reaction:remove", { ...ref(m), emoji: "👍" });
      expect(removed.message.reactions).to.have.deep.members([
        { emoji: "👍", count: 1, me: false },
        { emoji: "👨‍👩‍👧", count: 1, me: false },
      ]);
      await eventually(() => atCarol.length === 5, 5000, "the removal");
      expect(atCarol[4]).to.include({ userId: bob, added: false, count: 1 });
    });

    it("counts many users reacting at once on three nodes exactly", async () => {
      const users = Array.from({ length: 24 }, () => newUserId());
      const clients = await Promise.all(
        users.map((u, i) => cluster.connect(cluster.nodes[i % 3]!, u)),
      );
      const { conversation } = await ok(clients[0]!, "conversation:create", {
        participantIds: users.slice(1),
      });
      const { conversationId } = conversation;
      const m = await say(clients[0]!, conversationId);
      await Promise.all(
        clients.flatMap((c) => [
          ok(c, "reaction:add", { ...ref(m), emoji: "🎉" }),
          ok(c, "reaction:add", { ...ref(m), emoji: "🎉" }),
        ]),
      );
      const [seen] = (await found(clients[5]!, conversationId, m.messageId))?.reactions ?? [];
      expect(seen).to.deep.equal({ emoji: "🎉", count: 24, me: true });
    });

    it("BAD_REQUEST unless the emoji is one emoji; NOT_FOUND for strangers and deleted messages", async () => {
      const { ca, ce, conversationId } = await group();
      const m = await say(ca, conversationId);
      for (const emoji of ["a", "👍👍", "", ":)", "👍 ", 1, "x".repeat(100)]) {
        await fails(ca, "reaction:add", { ...ref(m), emoji }, "BAD_REQUEST");
      }
      await fails(ce, "reaction:add", { ...ref(m), emoji: "👍" }, "NOT_FOUND");
      await fails(ce, "reaction:remove", { ...ref(m), emoji: "👍" }, "NOT_FOUND");
      await ok(ca, "message:delete", ref(m));
      await fails(ca, "reaction:add", { ...ref(m), emoji: "👍" }, "NOT_FOUND");
    });
  });

  describe("replies", () => {
    it("a reply carries a preview of the original, which follows its edits and deletion", async () => {
      const { ca, cb, cc, alice, conversationId } = await group();
      const long = "é".repeat(REPLY_PREVIEW_CHARS + 20);
      const original = await say(ca, conversationId, long);
      const atCarol = collect(cc, "message:new");
      const reply = await say(cb, conversationId, "agreed", original.messageId);
      const quoted = { messageId: original.messageId, senderId: alice };
      expect(reply.replyTo).to.deep.equal({
        ...quoted,
        preview: "é".repeat(REPLY_PREVIEW_CHARS),
      });
      const delivered = () => atCarol.find((m) => m.messageId === reply.messageId);
      await eventually(() => delivered() !== undefined, 5000, "the reply at carol");
      expect(delivered()).to.deep.equal(reply);
      expect(await found(cc, conversationId, reply.messageId)).to.deep.equal(reply);

      await ok(ca, "message:edit", { ...ref(original), content: "short" });
      expect((await found(cc, conversationId, reply.messageId))?.replyTo).to.deep.equal({
        ...quoted,
        preview: "short",
      });
      await ok(ca, "message:delete", ref(original));
      expect((await found(cc, conversationId, reply.messageId))?.replyTo).to.deep.equal({
        ...quoted,
        preview: "",
        deleted: true,
      });
    });

    it("NOT_FOUND for a message of another conversation; BAD_REQUEST for a malformed id", async () => {
      const one = await group();
      const other = await group();
      const elsewhere = await say(other.ca, other.conversationId);
      const send = { conversationId: one.conversationId, clientMsgId: "r-1", content: "x" };
      await fails(one.ca, "message:send", { ...send, replyTo: elsewhere.messageId }, "NOT_FOUND");
      await fails(one.ca, "message:send", { ...send, replyTo: "nope" }, "BAD_REQUEST");
      expect(await history(one.ca, one.conversationId)).to.deep.equal([]);
    });
  });

  describe("changes:since", () => {
    it("lists each changed message once, as it is now, and pages with a cursor", async () => {
      const { ca, cb, conversationId } = await group();
      const [a, b, c] = [
        await say(ca, conversationId, "a"),
        await say(ca, conversationId, "b"),
        await say(ca, conversationId, "c"),
      ];
      await ok(ca, "message:edit", { ...ref(a), content: "a2" });
      await ok(cb, "reaction:add", { ...ref(b), emoji: "❤️" });
      await ok(ca, "message:edit", { ...ref(a), content: "a3" });
      await ok(ca, "message:delete", ref(c));
      const { messages, nextCursor } = await ok(cb, "changes:since", {
        conversationId,
        after: a.messageId,
      });
      expect(nextCursor).to.equal(null);
      expect(messages.map((m) => m.messageId)).to.deep.equal([
        b.messageId,
        a.messageId,
        c.messageId,
      ]);
      expect(messages[1]).to.include({ content: "a3", version: 2 });
      expect(messages[0]?.reactions).to.deep.equal([{ emoji: "❤️", count: 1, me: true }]);
      expect(messages[2]).to.include({ deleted: true, content: "" });

      const paged: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await ok(cb, "changes:since", {
          conversationId,
          after: a.messageId,
          limit: 1,
          ...(cursor ? { cursor } : {}),
        });
        paged.push(...page.messages.map((m) => m.messageId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(paged).to.deep.equal([a.messageId, b.messageId, a.messageId, c.messageId]);

      const later = await ok(cb, "changes:since", { conversationId, after: timeUuid() });
      expect(later.messages).to.deep.equal([]);
    });

    it("NOT_FOUND for a stranger; BAD_REQUEST for a bad after, limit or cursor", async () => {
      const { ca, ce, conversationId } = await group();
      const after = timeUuid();
      await fails(ce, "changes:since", { conversationId, after }, "NOT_FOUND");
      await fails(ca, "changes:since", { conversationId, after: "yesterday" }, "BAD_REQUEST");
      await fails(ca, "changes:since", { conversationId, after, limit: 0 }, "BAD_REQUEST");
      await fails(ca, "changes:since", { conversationId, after, cursor: "nope" }, "BAD_REQUEST");
    });
  });
});

const ref = (m: Message) => ({ conversationId: m.conversationId, messageId: m.messageId });

/** The storage bucket of a message under the default one-day buckets. */
const bucketOfDay = (messageId: string) => bucketOf({ bucketMs: 86_400_000 }, messageId);
