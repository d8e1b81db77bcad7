// Mocha global fixtures: one keyspace per test run, migrated once, dropped at the end; the
// Debian packages the fault tests run.
import { loadConfig } from "../../gateway/config.js";
import { createLogger } from "../../gateway/logger.js";
import { connectCassandra } from "../../gateway/storage/cassandra.js";
import { migrate, schemaAgreement } from "../../gateway/storage/migrate.js";
import { sleep } from "../../shared/sleep.js";
import { ensureCommand } from "./system-package.js";

const keyspace = `test_${Date.now().toString(36)}_${process.pid}`;
process.env.CASSANDRA_KEYSPACE = keyspace;

export async function mochaGlobalSetup() {
  // The fault tests' daemons, installed here on a fresh machine: no test timeout runs yet.
  ensureCommand("haproxy", "haproxy");
  ensureCommand("redis-server", "redis-server");
  const config = loadConfig({ ...process.env, NODE_ENV: "test" });
  const log = createLogger("warn", "test-setup");
  const db = await connectCassandra({ ...config.cassandra, connectTimeoutS: 30 }, log);
  await migrate(db, { keyspace, replication: config.cassandra.replication }, log);
  await db.client.shutdown();
}

export async function mochaGlobalTeardown() {
  if (process.env.KEEP_TEST_KEYSPACE) return;
  const config = loadConfig({ ...process.env, NODE_ENV: "test" });
  const db = await connectCassandra(config.cassandra, createLogger("warn", "test-teardown"));
  try {
    // After the cluster suite restarts nodes, one may still be catching up on the schema and
    // refuse the drop ("Unknown CF"): wait for agreement and try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await schemaAgreement(db);
        await db.client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { prepare: false });
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(2000);
      }
    }
  } finally {
    await db.client.shutdown();
  }
}
