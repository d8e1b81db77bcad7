// The suite shares one Cassandra node, so "Cassandra is stopped" is simulated where the gateways
// see it: their only route to Cassandra is a TCP relay, and the test cuts it (live connections
// reset, new ones refused) and then restores it. To the driver that is a node going down and
// coming back, the same as a stopped and restarted Cassandra.
import { expect } from "chai";
import { ChatLoad } from "../support/chat-load.js";
import { loadConfig } from "../../gateway/config.js";
import { sleep } from "../support/cluster.js";
import { FaultStack } from "../support/fault-stack.js";
import { metricValue, waitForReady } from "../support/gateway-process.js";
import { TcpProxy } from "../support/tcp-proxy.js";

describe("fault: Cassandra goes away under load", function () {
  this.timeout(120_000);
  const stack = new FaultStack();
  let proxy: TcpProxy | undefined;
  let load: ChatLoad | undefined;
  after(async () => {
    load?.close();
    await stack.stop();
    await proxy?.stop();
  });

  it("sends answer UNAVAILABLE, /readyz 503, sockets stay; afterwards sends work without a restart", async () => {
    const [host = "127.0.0.1", port = "9042"] = loadConfig(
      process.env,
    ).cassandra.contactPoints[0]!.split(":");
    proxy = await new TcpProxy(host, Number(port)).start();
    await stack.start(2, { CASSANDRA_CONTACT_POINTS: `127.0.0.1:${proxy.port}` });
    load = await ChatLoad.start(stack.url, 4);
    const [probe] = load.participants;
    const [conversationId] = load.conversations.keys();
    const running = load.run(60, 50);
    await sleep(700);

    proxy.interrupt();
    const reconnectsBefore = load.counts().reconnects;
    await Promise.all(stack.nodes.map((n) => waitForReady(n.url, 10_000, 503)));
    const answers = await load.probe(5);
    expect(answers).to.deep.equal(Array(5).fill("UNAVAILABLE"));
    expect(stack.nodes.every((n) => n.child.alive)).to.equal(true);
    expect(load.counts().reconnects, "sockets dropped during the outage").to.equal(
      reconnectsBefore,
    );

    proxy.restore();
    await Promise.all(stack.nodes.map((n) => waitForReady(n.url, 30_000)));
    const after = await probe!.client.request("message:send", {
      conversationId: conversationId!,
      clientMsgId: "probe-after",
      content: "back",
    });
    expect(after.message.content).to.equal("back");
    load.record(after.message);
    const refused = await Promise.all(
      stack.nodes.map((n) =>
        metricValue(n.url, 'chat_requests_total{event="message:send",outcome="UNAVAILABLE"}'),
      ),
    );
    // The probes and some of the load's sends were refused, none was answered ok meanwhile.
    expect(refused.reduce((a, b) => a + b)).to.be.greaterThan(answers.length);
    await running;
    await load.settle();
    const counts = await load.verify();
    expect(counts.acked).to.equal(counts.sent);
    expect(stack.nodes.every((n) => n.child.alive)).to.equal(true);
  });
});
