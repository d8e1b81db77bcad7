// A Redis outage whose broadcasts do not fit the node's replay backlog (FANOUT_REPLAY_BACKLOG,
// made tiny here): the recipients of the dropped broadcasts get sync:required and the client
// library catches up from storage, on a socket that stays open.
import { expect } from "chai";
import { eventually, sleep } from "../support/cluster.js";
import { directPair } from "../support/direct-pair.js";
import {
  metricValue,
  startGatewayProcess,
  waitForReady,
  type GatewayProcess,
} from "../support/gateway-process.js";
import { ChildGroup } from "../support/processes.js";
import { RedisProcess } from "../support/redis-process.js";

describe("fault: a Redis outage overflows the replay backlog", function () {
  this.timeout(120_000);
  const redis = new RedisProcess();
  const children = new ChildGroup();
  const closers: (() => void)[] = [];
  after(async () => {
    closers.forEach((close) => close());
    await children.killAll();
    await redis.kill();
  });

  it("tells the recipients to catch up; the client does, without reconnecting", async () => {
    await redis.start();
    const env = { REDIS_URL: redis.url, FANOUT_REPLAY_BACKLOG: "3" };
    const nodes: GatewayProcess[] = [];
    for (const id of ["overflow-0", "overflow-1"]) {
      const node = await startGatewayProcess(id, env);
      children.add(node.child);
      nodes.push(node);
    }
    const [aliceNode, bobNode] = nodes as [GatewayProcess, GatewayProcess];
    const pair = await directPair(aliceNode.url, bobNode.url);
    closers.push(pair.close);
    const { mine, sent, counts } = pair;

    await redis.kill();
    await Promise.all(nodes.map((n) => waitForReady(n.url, 10_000, 503)));
    // Far more broadcasts than bob's node keeps (3).
    for (let i = 0; i < 12; i++) await pair.send(`while down ${i}`);
    await redis.start();
    await Promise.all(nodes.map((n) => waitForReady(n.url, 30_000)));

    // Alice's own node tells her first, once its subscriptions are back (subscription-gaps.ts);
    // bob's node tells her again when its replay finds what did not fit.
    const overflowTold = () => metricValue(bobNode.url, "chat_fanout_sync_required_total");
    for (const deadline = Date.now() + 15_000; (await overflowTold()) < 1; await sleep(100)) {
      if (Date.now() > deadline) throw new Error("bob's node sent no sync:required");
    }
    await eventually(() => counts.told >= 2, 15_000, "sync:required from both nodes");
    await eventually(() => mine.length >= sent.length && counts.synced > 1, 15_000, "the catch-up");
    expect(mine.map((m) => m.messageId)).to.have.members(sent);
    expect(mine).to.have.length(sent.length); // each once
    expect(pair.statuses, "the socket stayed open").to.deep.equal(["connecting", "connected"]);
  });
});
