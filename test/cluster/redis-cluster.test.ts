// Fan-out over a real Redis Cluster (three masters, a replica each: scripts/redis-cluster.sh)
// with the sharded adapter, and a master killed under load. Run by `npm run test:cluster-faults`.
import { expect } from "chai";
import { cassandraClusterWhole } from "../support/cassandra-cluster.js";
import { ChatLoad } from "../support/chat-load.js";
import { eventually, sleep } from "../support/cluster.js";
import { FaultStack } from "../support/fault-stack.js";
import { waitForReady } from "../support/gateway-process.js";
import { PhaseLog } from "../support/phases.js";
import { redisCluster } from "../support/redis-cluster.js";

describe("cluster fault: Redis Cluster master killed under load (3 gateways, sharded adapter)", function () {
  this.timeout(600_000);
  const stack = new FaultStack();
  let load: ChatLoad | undefined;
  let killed: string | undefined;
  // The Cassandra suite before this one leaves its nodes restarted, perhaps still joining.
  before(() => cassandraClusterWhole());
  after(async () => {
    load?.close();
    await stack.stop();
    if (killed) await redisCluster("restart", killed);
  });

  it("delivers each message once; after a failover fan-out resumes and nothing acknowledged is lost", async () => {
    const nodes = process.env.CLUSTER_REDIS_NODES;
    if (!nodes) throw new Error("CLUSTER_REDIS_NODES is not set: run npm run test:cluster-faults");
    await stack.start(3, { REDIS_CLUSTER_NODES: nodes, REDIS_ADAPTER: "sharded" });
    load = await ChatLoad.start(stack.url, 6);
    const phases = new PhaseLog(load, () => stack.nodes.map((n) => n.url));

    // Live receipts only, before any fault: no catch-up or replay copies to tell apart.
    const receiptsBefore = load.participants.map((p) => p.liveReceipts);
    const steady = await phases.phase("6 masters and replicas up", async () => {
      await load!.run(20, 50);
      await load!.settle(30_000);
    });
    expect(steady.failed).to.equal(0);
    load.participants.forEach((p, i) => {
      const fromOthers = [...steady.ids].filter((id) => {
        const m = p.held.get(id);
        return m !== undefined && m.senderId !== p.userId;
      }).length;
      const mine = [...p.conversations].flatMap((c) => load!.ackedIn(c));
      const expected = mine.filter((m) => steady.ids.has(m.messageId) && m.senderId !== p.userId);
      expect(fromOthers, `user ${i} holds`).to.equal(expected.length);
      expect(p.liveReceipts - receiptsBefore[i]!, `user ${i}: message:new events`).to.equal(
        expected.length,
      );
    });

    await phases.phase("master of slot 0 killed -9, replica promoted", async () => {
      const running = load!.run(80, 80);
      await sleep(1500);
      killed = await redisCluster("kill-master");
      await running;
    });
    await Promise.all(stack.nodes.map((n) => waitForReady(n.url, 60_000)));

    const [sender] = load.participants;
    const [group] = load.conversations.keys();
    await phases.phase("after the failover", async () => {
      const fresh = await sender!.client.send({ conversationId: group!, content: "after" });
      load!.record(fresh);
      await eventually(
        () => load!.participants.every((p) => p.held.has(fresh.messageId)),
        30_000,
        "the message after the failover to reach everyone",
      );
      await load!.run(20, 50);
    });
    expect(stack.nodes.every((n) => n.child.alive)).to.equal(true);

    await load.settle(60_000);
    const counts = await load.verify();
    const table = phases.print("Redis Cluster faults");
    expect(table.every((r) => r.lost === 0 && r.duplicated === 0)).to.equal(true);
    expect(counts.acked).to.equal(counts.sent);
  });
});
