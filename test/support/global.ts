// Mocha global fixtures: one keyspace per test run, migrated once, dropped at the end; the
// Debian packages the fault tests run.
import { loadConfig } from "../../gateway/config.js";
import { createLogger } from "../../gateway/logger.js";
import { connectCassandra } from "../../gateway/storage/cassandra.js";
import { migrate } from "../../gateway/storage/migrate.js";
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
  await db.client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { prepare: false });
  await db.client.shutdown();
}
