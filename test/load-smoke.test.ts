import { expect } from "chai";
import { runLoad } from "../bench/load-run.js";
import { DEFAULTS } from "../bench/options.js";

// The load generator end to end on two gateway processes: a few seconds, a few hundred users.
// Asserts correctness only (every send answered, delivered once to every recipient); never a time.
describe("load generator smoke run", () => {
  it("sends direct and group messages across two nodes with no errors, losses or duplicates", async function () {
    this.timeout(90_000);
    const result = await runLoad({
      ...DEFAULTS,
      users: 300,
      nodes: 2,
      rate: 150,
      rampS: 1,
      durationS: 3,
      keyspace: process.env.CASSANDRA_KEYSPACE ?? "",
      quiet: true,
    });
    expect(result.errors).to.deep.equal({});
    expect(result.connections.sockets).to.equal(300);
    expect(result.conversations.direct).to.be.greaterThan(0);
    expect(result.conversations.group).to.be.greaterThan(0);
    expect(result.sends.sent).to.be.greaterThan(0);
    expect(result.sends.acked).to.equal(result.sends.sent);
    expect(result.sends.deliveries).to.be.greaterThan(result.sends.acked);
    expect(result.sends.lost).to.equal(0);
    expect(result.sends.duplicated).to.equal(0);
    expect(result.sends.unexpected).to.equal(0);
  });
});
