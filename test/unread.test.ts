// Unread counts and read positions in conversation answers (docs/protocol.md "Conversation"),
// computed by the gateway from storage, so they survive reloads and agree across nodes.
import { expect } from "chai";
import { MAX_UNREAD } from "../shared/limits.js";
import type { Conversation } from "../shared/protocol.js";
import { type Client, eventually, newUserId, ok, TestCluster } from "./support/cluster.js";

describe("unread counts and read positions", function () {
  this.timeout(30_000);
  const cluster = new TestCluster();
  let seq = 0;

  before(() =>
    cluster.start(2, {
      MAX_REQUESTS_IN_FLIGHT: "200",
      RATE_LIMIT_SEND: "1000/10",
      RATE_LIMIT_CHANGE: "1000/10",
    }),
  );
  after(() => cluster.stop());

  async function pair() {
    const [alice, bob] = [newUserId(), newUserId()];
    const [ca, cb] = await Promise.all([
      cluster.connect(cluster.nodes[0]!, alice),
      cluster.connect(cluster.nodes[1]!, bob),
    ]);
    const { conversation } = await ok(ca, "conversation:open", { peerId: bob });
    return { alice, bob, ca, cb, conversationId: conversation.conversationId };
  }

  const say = async (client: Client, conversationId: string, content = "hi") =>
    (await ok(client, "message:send", { conversationId, clientMsgId: `u-${++seq}`, content }))
      .message;

  /** The conversation as `client` lists it, and as conversation:open answers it. */
  async function seen(client: Client, conversationId: string): Promise<Conversation> {
    const { conversations } = await ok(client, "conversations:list", { limit: 100 });
    const listed = conversations.find((c) => c.conversationId === conversationId);
    expect(listed, "listed").to.not.equal(undefined);
    return listed!;
  }

  it("counts the others' messages after the reader's position, on both nodes and in open", async () => {
    const { alice, bob, ca, cb, conversationId } = await pair();
    expect(await seen(cb, conversationId)).to.include({ unreadCount: 0 });
    const sent = [await say(ca, conversationId), await say(ca, conversationId)];
    sent.push(await say(ca, conversationId));
    expect((await seen(cb, conversationId)).unreadCount).to.equal(3);
    expect((await seen(ca, conversationId)).unreadCount, "own messages are not unread").to.equal(0);
    const opened = await ok(cb, "conversation:open", { peerId: alice });
    expect(opened.conversation.unreadCount).to.equal(3);

    await ok(cb, "message:read", { conversationId, messageId: sent[1]!.messageId });
    const afterRead = await seen(cb, conversationId);
    expect(afterRead.unreadCount).to.equal(1);
    expect(afterRead.readPositions).to.deep.equal({ [bob]: sent[1]!.messageId });

    // Deleted messages are not unread.
    await ok(ca, "message:delete", { conversationId, messageId: sent[2]!.messageId });
    expect((await seen(cb, conversationId)).unreadCount).to.equal(0);

    // Replying implies having read what came before.
    await say(ca, conversationId);
    expect((await seen(cb, conversationId)).unreadCount).to.equal(1);
    await say(cb, conversationId);
    expect((await seen(cb, conversationId)).unreadCount).to.equal(0);
    expect((await seen(ca, conversationId)).unreadCount).to.equal(1);
  });

  it("returns every participant's read position, so receipts survive a new connection", async () => {
    const { alice, bob, ca, cb, conversationId } = await pair();
    const m = await say(ca, conversationId);
    const reply = await say(cb, conversationId);
    await ok(cb, "message:read", { conversationId, messageId: m.messageId });
    await ok(ca, "message:read", { conversationId, messageId: reply.messageId });
    // A fresh socket of alice's, on the other node: what a reloaded page would ask.
    const reloaded = await cluster.connect(cluster.nodes[1]!, alice);
    const c = await seen(reloaded, conversationId);
    expect(c.readPositions).to.deep.equal({ [alice]: reply.messageId, [bob]: m.messageId });
    const opened = await ok(reloaded, "conversation:open", { peerId: bob });
    expect(opened.conversation.readPositions).to.deep.equal(c.readPositions);
  });

  it(`caps the count at ${MAX_UNREAD}: ${MAX_UNREAD} means that many or more`, async () => {
    const { ca, cb, conversationId } = await pair();
    const sent = await Promise.all(
      Array.from({ length: MAX_UNREAD + 5 }, () => say(ca, conversationId)),
    );
    expect((await seen(cb, conversationId)).unreadCount).to.equal(MAX_UNREAD);
    expect(sent.length).to.equal(MAX_UNREAD + 5);
    const newestFirst = (await ok(cb, "history:fetch", { conversationId, limit: 6 })).messages;
    await ok(cb, "message:read", { conversationId, messageId: newestFirst[5]!.messageId });
    expect((await seen(cb, conversationId)).unreadCount).to.equal(5);
  });

  it("a new group starts with nothing unread and no positions, in the answer and the event", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    const [ca, cb] = await Promise.all([
      cluster.connect(cluster.nodes[0]!, alice),
      cluster.connect(cluster.nodes[1]!, bob),
    ]);
    const news: Conversation[] = [];
    cb.on("conversation:new", (c) => news.push(c));
    const { conversation } = await ok(ca, "conversation:create", { participantIds: [bob] });
    expect(conversation).to.include({ unreadCount: 0 });
    expect(conversation.readPositions).to.deep.equal({});
    await eventually(() => news.length === 1, 5000, "conversation:new");
    expect(news[0]).to.deep.equal(conversation);
  });
});

describe("unread counts across message buckets", function () {
  this.timeout(30_000);
  const cluster = new TestCluster();
  // Buckets of 25 ms: messages sent 40 ms apart each land in a bucket of their own.
  before(() => cluster.start(1, { MESSAGE_BUCKET_MS: "25" }));
  after(() => cluster.stop());

  it("counts back through older buckets to the read position", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    const [ca, cb] = await Promise.all([
      cluster.connect(cluster.nodes[0]!, alice),
      cluster.connect(cluster.nodes[0]!, bob),
    ]);
    const { conversation } = await ok(ca, "conversation:create", { participantIds: [bob] });
    const { conversationId } = conversation;
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { message } = await ok(ca, "message:send", {
        conversationId,
        clientMsgId: `b-${i}`,
        content: `m${i}`,
      });
      sent.push(message.messageId);
      await new Promise((r) => setTimeout(r, 40));
    }
    const unread = async () =>
      (await ok(cb, "conversations:list", {})).conversations.find(
        (c) => c.conversationId === conversationId,
      )?.unreadCount;
    expect(await unread()).to.equal(5);
    await ok(cb, "message:read", { conversationId, messageId: sent[1]! });
    expect(await unread()).to.equal(3);
    await ok(cb, "message:read", { conversationId, messageId: sent[4]! });
    expect(await unread()).to.equal(0);
  });
});
