// Losing Cassandra nodes for real: the run's keyspace lives on the local three-node cluster
// (scripts/cassandra.sh cluster) with replication factor 3, and the test kills nodes with
// kill -9 while users send. Run by `npm run test:cluster-faults`, which starts the cluster.
import { expect } from "chai";
import { cassandraCluster, cassandraClusterWhole } from "../support/cassandra-cluster.js";
import { ChatLoad } from "../support/chat-load.js";
import { sleep } from "../support/cluster.js";
import { openTestDb } from "../support/db.js";
import { FaultStack } from "../support/fault-stack.js";
import { waitForReady } from "../support/gateway-process.js";
import { PhaseLog } from "../support/phases.js";

describe("cluster fault: Cassandra nodes killed under load (3 nodes, replication factor 3)", function () {
  // Three JVMs and the gateways on two cores: restarts alone take minutes.
  this.timeout(900_000);
  const stack = new FaultStack();
  let load: ChatLoad | undefined;
  after(async () => {
    load?.close();
    await stack.stop();
    // Whatever happened, leave all three nodes up for the next suite.
    await cassandraClusterWhole();
  });

  it("a quorum keeps sends going; without one sends are refused and nothing acknowledged is lost", async () => {
    const db = await openTestDb();
    const keyspace = await db.client.execute(
      "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?",
      [db.client.keyspace],
    );
    const peers = await db.client.execute("SELECT peer FROM system.peers");
    await db.client.shutdown();
    expect(keyspace.first().get("replication"), "the run's keyspace").to.include({
      class: "org.apache.cassandra.locator.NetworkTopologyStrategy",
      datacenter1: "3",
    });
    expect(peers.rowLength, "peers of the contact node").to.equal(2);

    await stack.start(2);
    const urls = () => stack.nodes.map((n) => n.url);
    load = await ChatLoad.start(stack.url, 4);
    const phases = new PhaseLog(load, urls);

    const kill1 = await phases.phase("3 of 3 up, node 3 killed -9 mid-phase", async () => {
      const running = load!.run(120, 80);
      await sleep(2000);
      await cassandraCluster("kill", "3");
      await running;
    });
    const quorum = await phases.phase("2 of 3 up", () => load!.run(60, 80));
    // A quorum stands throughout: no send fails and none is even answered with an error.
    expect(kill1.failed, `${kill1.phase}: sends failed`).to.equal(0);
    expect(kill1.errorAnswers, `${kill1.phase}: error answers`).to.equal(0);
    expect(quorum.failed, `${quorum.phase}: sends failed`).to.equal(0);
    expect(quorum.errorAnswers, `${quorum.phase}: error answers`).to.equal(0);

    let outage: Promise<void> | undefined;
    let probes: string[] = [];
    const down = await phases.phase("1 of 3 up, then nodes 2 and 3 restarted", async () => {
      await cassandraCluster("kill", "2");
      // The quorum probe of /readyz fails, so the load balancer stops sending new clients.
      await Promise.all(stack.nodes.map((n) => waitForReady(n.url, 60_000, 503)));
      probes = await load!.probe(5);
      // Users keep sending; their clients retry UNAVAILABLE until the send timeout (60 s).
      outage = load!.run(10, 200);
      await sleep(3000);
      await Promise.all([cassandraCluster("restart", "2"), cassandraCluster("restart", "3")]);
      await Promise.all(stack.nodes.map((n) => waitForReady(n.url, 120_000)));
      await outage;
    });
    expect(probes).to.deep.equal(Array(5).fill("UNAVAILABLE"));
    expect(down.errorAnswers, "UNAVAILABLE answers while 1 of 3 was up").to.be.at.least(5);

    const back = await phases.phase("3 of 3 up again (no gateway restarted)", () =>
      load!.run(30, 80),
    );
    expect(back.failed, "sends failed after the restart").to.equal(0);
    expect(back.acked).to.equal(back.sent);
    expect(stack.nodes.every((n) => n.child.alive)).to.equal(true);

    await load.settle(60_000);
    const counts = await load.verify();
    const table = phases.print("Cassandra cluster faults");
    expect(table.every((r) => r.lost === 0 && r.duplicated === 0)).to.equal(true);
    expect(counts.acked + counts.failed).to.equal(counts.sent);
  });
});
