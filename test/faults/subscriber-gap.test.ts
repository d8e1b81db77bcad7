// One node loses Redis while the others keep it: what they publish meanwhile never reaches that
// node, and no publisher had an outage to replay. The node whose subscriptions broke tells its
// sockets to catch up once they work again (gateway/fanout/subscription-gaps.ts). A Redis
// Cluster failover is the same case per shard: a node may subscribe to the promoted replica
// after the other nodes' last replay.
import { expect } from "chai";
import { eventually } from "../support/cluster.js";
import { directPair } from "../support/direct-pair.js";
import { metricValue, startGatewayProcess, waitForReady } from "../support/gateway-process.js";
import { ChildGroup } from "../support/processes.js";
import { RedisProcess } from "../support/redis-process.js";
import { TcpProxy } from "../support/tcp-proxy.js";

describe("fault: one node's Redis subscriptions break while the other nodes publish", function () {
  this.timeout(120_000);
  const redis = new RedisProcess();
  const children = new ChildGroup();
  const closers: (() => void)[] = [];
  let proxy: TcpProxy | undefined;
  after(async () => {
    closers.forEach((close) => close());
    await children.killAll();
    await proxy?.stop();
    await redis.kill();
  });

  it("that node's users are told to catch up and get what was published meanwhile", async () => {
    await redis.start();
    proxy = await new TcpProxy("127.0.0.1", redis.port).start();
    const publisher = await startGatewayProcess("gap-publisher", { REDIS_URL: redis.url });
    children.add(publisher.child);
    const cutOff = await startGatewayProcess("gap-cut-off", {
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    });
    children.add(cutOff.child);
    const pair = await directPair(cutOff.url, publisher.url);
    closers.push(pair.close);
    const { mine, sent, counts } = pair;

    proxy.interrupt();
    await waitForReady(cutOff.url, 10_000, 503);
    for (let i = 0; i < 5; i++) await pair.send(`while cut off ${i}`);
    proxy.restore();
    await waitForReady(cutOff.url, 30_000);

    await eventually(() => counts.told > 0, 15_000, "sync:required");
    await eventually(() => mine.length >= sent.length, 15_000, "the catch-up");
    expect(mine.map((m) => m.messageId)).to.have.members(sent);
    expect(mine).to.have.length(sent.length); // each once
    expect(pair.statuses, "the socket stayed open").to.deep.equal(["connecting", "connected"]);
    expect(await metricValue(cutOff.url, "chat_fanout_subscription_gaps_total")).to.be.at.least(1);
  });
});
