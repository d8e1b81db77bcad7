import { expect } from "chai";
import { collect, eventually, newUserId, ok, sleep, TestCluster } from "./support/cluster.js";

// The sharded adapter sends each user's room on its own channel (SocketIoFanOut's perRoom).
for (const adapter of ["classic", "sharded"] as const)
  describe(`fan-out across three nodes (${adapter} adapter)`, () => {
    const cluster = new TestCluster();
    before(() => cluster.start(3, { REDIS_ADAPTER: adapter }));
    after(() => cluster.stop());

    it("reaches the recipient on B and the sender's second device on C exactly once, not the sending socket", async () => {
      const [a, b, c] = cluster.nodes;
      const alice = newUserId();
      const bob = newUserId();
      const sender = await cluster.connect(a!, alice);
      const secondDevice = await cluster.connect(c!, alice);
      const recipient = await cluster.connect(b!, bob);
      const atSender = collect(sender, "message:new");
      const atSecond = collect(secondDevice, "message:new");
      const atRecipient = collect(recipient, "message:new");

      const first = await ok(sender, "message:send", {
        recipientId: bob,
        clientMsgId: "x1",
        content: "one",
      });
      const second = await ok(sender, "message:send", {
        conversationId: first.message.conversationId,
        clientMsgId: "x2",
        content: "two",
      });
      await eventually(() => atRecipient.length >= 2 && atSecond.length >= 2, 5000, "deliveries");
      await sleep(300);
      const ids = [first.message.messageId, second.message.messageId];
      expect(atRecipient.map((m) => m.messageId)).to.deep.equal(ids);
      expect(atSecond.map((m) => m.messageId)).to.deep.equal(ids);
      expect(atSender).to.deep.equal([]);
      expect(atRecipient[0]).to.deep.equal(first.message);
    });

    it("delivers a group message to every member's sockets on every node", async () => {
      const users = [newUserId(), newUserId(), newUserId(), newUserId()];
      const sockets = await Promise.all(
        users.map((u, i) => cluster.connect(cluster.nodes[i % 3]!, u)),
      );
      const created = collect(sockets[3]!, "conversation:new");
      const { conversation } = await ok(sockets[0]!, "conversation:create", {
        participantIds: users.slice(1),
        title: "team",
      });
      await eventually(() => created.length === 1, 5000, "conversation:new");
      const inboxes = sockets.map((s) => collect(s, "message:new"));
      const sent = await ok(sockets[1]!, "message:send", {
        conversationId: conversation.conversationId,
        clientMsgId: "g1",
        content: "hello team",
      });
      await eventually(
        () => [0, 2, 3].every((i) => inboxes[i]!.length === 1),
        5000,
        "group deliveries",
      );
      await sleep(300);
      expect(inboxes.map((box) => box.map((m) => m.messageId))).to.deep.equal([
        [sent.message.messageId],
        [],
        [sent.message.messageId],
        [sent.message.messageId],
      ]);
    });
  });
