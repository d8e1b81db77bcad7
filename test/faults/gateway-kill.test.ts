import { expect } from "chai";
import { ChatLoad } from "../support/chat-load.js";
import { sleep } from "../support/cluster.js";
import { FaultStack } from "../support/fault-stack.js";

describe("fault: a gateway node is killed under load", function () {
  this.timeout(120_000);
  const stack = new FaultStack();
  let load: ChatLoad | undefined;
  after(async () => {
    load?.close();
    await stack.stop();
  });

  it("its clients reconnect through the load balancer and catch up: nothing acknowledged is lost or doubled", async () => {
    await stack.start(3);
    load = await ChatLoad.start(stack.url, 6);
    const victim = stack.nodes[0]!;
    const running = load.run(60, 40);
    await sleep(800);
    const { signal } = await victim.child.kill("SIGKILL");
    expect(signal).to.equal("SIGKILL");
    await running;
    await load.settle();
    const counts = await load.verify();
    // Round robin put two of the six clients on the killed node.
    expect(counts.reconnects).to.be.at.least(1);
    expect(counts.acked).to.equal(counts.sent);
  });
});
