import { expect } from "chai";
import { collect, eventually, newUserId, ok, TestCluster } from "./support/cluster.js";

describe("smoke", () => {
  const cluster = new TestCluster();
  after(() => cluster.stop());

  it("sends a direct message across two nodes", async () => {
    const [a, b] = await cluster.start(2);
    const alice = newUserId();
    const bob = newUserId();
    const ca = await cluster.connect(a!, alice);
    const cb = await cluster.connect(b!, bob);
    const got = collect(cb, "message:new");
    const sent = await ok(ca, "message:send", {
      recipientId: bob,
      clientMsgId: "m1",
      content: "hi",
    });
    expect(sent.message.content).to.equal("hi");
    await eventually(() => got.length === 1);
    expect(got[0]!.messageId).to.equal(sent.message.messageId);
    const list = await ok(cb, "conversations:list", {});
    expect(list.conversations).to.have.length(1);
    const hist = await ok(cb, "history:fetch", { conversationId: sent.message.conversationId });
    expect(hist.messages.map((m) => m.messageId)).to.deep.equal([sent.message.messageId]);
  });
});
