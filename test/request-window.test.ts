// Cassandra requests held for a window and released together, so the driver writes them in one
// system call: the window itself, then a Db on the real Cassandra.
import { expect } from "chai";
import { performance } from "node:perf_hooks";
import { createLogger } from "../gateway/logger.js";
import { connectCassandra, type Db } from "../gateway/storage/cassandra.js";
import { RequestWindow } from "../gateway/storage/request-window.js";
import { sleep } from "../shared/sleep.js";
import { testConfig } from "./support/cluster.js";

describe("request window", () => {
  it("gives every wait within an open window the same release, and opens a new one after", async () => {
    const window = new RequestWindow(40);
    const opened = performance.now();
    const first = window.wait();
    await sleep(10);
    expect(window.wait()).to.equal(first);
    await first;
    expect(performance.now() - opened).to.be.at.least(39);
    const next = window.wait();
    expect(next).to.not.equal(first);
    await next;
  });

  describe("on the real Cassandra", () => {
    const dbs: Db[] = [];
    const open = async (coalesceMs: number) => {
      const { cassandra } = testConfig();
      const db = await connectCassandra(
        { ...cassandra, coalesceMs },
        createLogger("silent", "test-window"),
      );
      dbs.push(db);
      // When each request reaches the driver.
      const reached: number[] = [];
      const execute = db.client.execute.bind(db.client);
      db.client.execute = ((...args: Parameters<typeof execute>) => {
        reached.push(performance.now());
        return execute(...args);
      }) as typeof db.client.execute;
      return { db, reached };
    };
    after(() => Promise.all(dbs.map((db) => db.client.shutdown())));

    it("sends requests issued at different times within the window to the driver together, each with its own answer", async () => {
      const { db, reached } = await open(60);
      const issued: number[] = [];
      const answers: Promise<string>[] = [];
      for (const key of ["cluster_name", "release_version", "partitioner"]) {
        issued.push(performance.now());
        answers.push(
          db
            .first(`SELECT ${key} FROM system.local WHERE key = ?`, ["local"])
            .then((row) => String(row?.get(key))),
        );
        await sleep(15);
      }
      const [clusterName, version, partitioner] = await Promise.all(answers);
      expect(reached).to.have.length(3);
      expect(Math.max(...reached) - Math.min(...reached)).to.be.below(5);
      expect(Math.min(...reached)).to.be.at.least(Math.max(...issued));
      expect(version).to.match(/^\d+\.\d+/);
      expect(partitioner).to.match(/Murmur3Partitioner$/);
      expect(clusterName).to.be.a("string").and.not.equal("undefined");
    });

    it("with a window of 0, hands each request to the driver at once", async () => {
      const { db, reached } = await open(0);
      const issued = performance.now();
      const answer = db.first("SELECT release_version FROM system.local WHERE key = ?", ["local"]);
      expect(reached).to.have.length(1);
      expect(reached[0]! - issued).to.be.below(5);
      expect(String((await answer)?.get("release_version"))).to.match(/^\d+\.\d+/);
    });
  });
});
