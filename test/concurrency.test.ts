import { expect } from "chai";
import { compareMessageIds } from "../shared/message-id.js";
import type { Message } from "../shared/protocol.js";
import { collect, eventually, newUserId, ok, sleep, TestCluster } from "./support/cluster.js";

describe("concurrency and idempotency", function () {
  this.timeout(60_000);
  const cluster = new TestCluster();
  before(() => cluster.start(2, { INBOX_SLOT_MS: "200" }));
  after(() => cluster.stop());

  it("many senders at once into one group: all stored, all delivered once, one inbox entry with the newest message", async () => {
    const users = Array.from({ length: 12 }, () => newUserId());
    const sockets = await Promise.all(
      users.map((u, i) => cluster.connect(cluster.nodes[i % 2]!, u)),
    );
    const { conversation } = await ok(sockets[0]!, "conversation:create", {
      participantIds: users.slice(1),
    });
    const inboxes = sockets.map((s) => collect(s, "message:new"));
    const PER_USER = 15;
    const answers = await Promise.all(
      sockets.flatMap((s, u) =>
        Array.from({ length: PER_USER }, (_, i) =>
          ok(s, "message:send", {
            conversationId: conversation.conversationId,
            clientMsgId: `u${u}-m${i}`,
            content: `from ${u}: ${i}`,
          }),
        ),
      ),
    );
    const total = users.length * PER_USER;
    const ids = answers.map((a) => a.message.messageId);
    expect(new Set(ids).size).to.equal(total);
    const expectedEach = total - PER_USER;
    await eventually(
      () => inboxes.every((box) => box.length >= expectedEach),
      10_000,
      "deliveries",
    );
    await sleep(300);
    inboxes.forEach((box, u) => {
      expect(box).to.have.length(expectedEach);
      expect(new Set(box.map((m) => m.messageId)).size).to.equal(expectedEach);
      expect(box.every((m) => m.senderId !== users[u])).to.equal(true);
    });

    const stored: Message[] = [];
    let cursor: string | undefined;
    do {
      const page = await ok(sockets[3]!, "history:fetch", {
        conversationId: conversation.conversationId,
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      stored.push(...page.messages);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(stored.map((m) => m.messageId).sort()).to.deep.equal([...ids].sort());

    const newest = [...ids].sort(compareMessageIds).at(-1);
    for (const s of sockets) {
      const { conversations } = await ok(s, "conversations:list", { limit: 100 });
      const entries = conversations.filter((c) => c.conversationId === conversation.conversationId);
      expect(entries).to.have.length(1);
      expect(entries[0]!.lastMessage?.messageId).to.equal(newest);
    }
  });

  it("a retry with the same clientMsgId returns the first message and delivers nothing new", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    const sender = await cluster.connect(cluster.nodes[0]!, alice);
    const recipient = await cluster.connect(cluster.nodes[1]!, bob);
    const got = collect(recipient, "message:new");
    const req = { recipientId: bob, clientMsgId: "retry-1", content: "once" };
    const first = await ok(sender, "message:send", req);
    const again = await ok(sender, "message:send", { ...req, content: "changed on retry" });
    expect(again.message).to.deep.equal(first.message);
    // Concurrent duplicates, on one node and across nodes.
    const otherDevice = await cluster.connect(cluster.nodes[1]!, alice);
    const burst = await Promise.all([
      ok(sender, "message:send", { ...req, clientMsgId: "retry-2" }),
      ok(sender, "message:send", { ...req, clientMsgId: "retry-2" }),
    ]);
    expect(burst[0].message).to.deep.equal(burst[1].message);
    const later = await ok(otherDevice, "message:send", { ...req, clientMsgId: "retry-2" });
    expect(later.message).to.deep.equal(burst[0].message);
    await eventually(() => got.length >= 2, 5000, "deliveries");
    await sleep(300);
    expect(got.map((m) => m.messageId)).to.deep.equal([
      first.message.messageId,
      burst[0].message.messageId,
    ]);
    const history = await ok(recipient, "history:fetch", {
      conversationId: first.message.conversationId,
    });
    expect(history.messages).to.have.length(2);
  });

  it("two users opening their direct conversation at the same moment get one id", async () => {
    for (let round = 0; round < 5; round++) {
      const [alice, bob] = [newUserId(), newUserId()];
      const [sa, sb] = await Promise.all([
        cluster.connect(cluster.nodes[0]!, alice),
        cluster.connect(cluster.nodes[1]!, bob),
      ]);
      const news = [collect(sa, "conversation:new"), collect(sb, "conversation:new")];
      const [x, y] = await Promise.all([
        ok(sa, "conversation:open", { peerId: bob }),
        ok(sb, "conversation:open", { peerId: alice }),
      ]);
      expect(x.conversation.conversationId).to.equal(y.conversation.conversationId);
      expect(x.conversation.participantIds).to.deep.equal([alice, bob].sort());
      await eventually(() => news.every((n) => n.length >= 1), 5000, "conversation:new");
      await sleep(200);
      expect(news.map((n) => n.length)).to.deep.equal([1, 1]);
    }
  });

  it("the inbox orders conversations by activity across slots and lists each once", async () => {
    const me = newUserId();
    const socket = await cluster.connect(cluster.nodes[0]!, me);
    const peers = [newUserId(), newUserId(), newUserId()];
    const convs: string[] = [];
    for (const p of peers) {
      const { message } = await ok(socket, "message:send", {
        recipientId: p,
        clientMsgId: `o-${p}`,
        content: "hi",
      });
      convs.push(message.conversationId);
      await sleep(250);
    }
    // Move the first conversation to the top, into a newer slot.
    await ok(socket, "message:send", {
      conversationId: convs[0]!,
      clientMsgId: "o-again",
      content: "up",
    });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await ok(socket, "conversations:list", {
        limit: 1,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.conversations.map((c) => c.conversationId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).to.deep.equal([convs[0], convs[2], convs[1]]);
  });
});
