import { expect } from "chai";
import type { Message } from "../../shared/protocol.js";
import { ChatLoad } from "../support/chat-load.js";
import { eventually, sleep } from "../support/cluster.js";
import { FaultStack } from "../support/fault-stack.js";
import { metricValue, waitForReady } from "../support/gateway-process.js";
import { RedisProcess } from "../support/redis-process.js";

describe("fault: Redis is restarted under load", function () {
  this.timeout(120_000);
  // The test's own Redis: killing the shared one would break every other test run.
  const redis = new RedisProcess();
  const stack = new FaultStack();
  let load: ChatLoad | undefined;
  after(async () => {
    load?.close();
    await stack.stop();
    await redis.kill();
  });

  it("sends are stored while fan-out is down, nodes reconnect by themselves, clients recover the gap", async () => {
    await redis.start();
    await stack.start(2, { REDIS_URL: redis.url });
    load = await ChatLoad.start(stack.url, 6);
    const ackedAt: number[] = [];
    const [sender] = load.participants;
    sender!.client.on("message", (m: Message) => {
      if (m.senderId === sender!.userId) ackedAt.push(Date.now());
    });
    const running = load.run(60, 50);
    await sleep(700);

    await redis.kill();
    const down = Date.now();
    await Promise.all(stack.nodes.map((n) => waitForReady(n.url, 10_000, 503)));
    await sleep(1000);
    await redis.start();
    const up = Date.now();
    await Promise.all(stack.nodes.map((n) => waitForReady(n.url, 30_000)));

    await running;
    await load.settle();
    const counts = await load.verify();
    expect(counts.acked).to.equal(counts.sent);
    const whileDown = ackedAt.filter((t) => t > down && t < up).length;
    expect(whileDown, "sends acknowledged while Redis was down").to.be.greaterThan(0);
    expect(
      stack.nodes.every((n) => n.child.alive),
      "a node exited",
    ).to.equal(true);
    // The gap was filled by the nodes sending their outage broadcasts again.
    const replayed = await Promise.all(
      stack.nodes.map((n) => metricValue(n.url, "chat_fanout_replayed_total")),
    );
    expect(
      replayed.every((r) => r > 0),
      "broadcasts replayed per node",
    ).to.equal(true);

    // Fan-out works again: a new group message reaches every other member live.
    const [group] = load.conversations.keys();
    const fresh = await sender!.client.send({ conversationId: group!, content: "after" });
    await eventually(
      () => load!.participants.every((p) => p.held.has(fresh.messageId)),
      10_000,
      "the message after the restart to reach everyone",
    );
  });
});
