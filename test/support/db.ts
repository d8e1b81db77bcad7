import { createLogger } from "../../gateway/logger.js";
import { connectCassandra, type Db } from "../../gateway/storage/cassandra.js";
import { testConfig } from "./cluster.js";

/** A driver connection to the run's keyspace, for tests that look at storage directly. */
export async function openTestDb(): Promise<Db> {
  const config = testConfig();
  const db = await connectCassandra(config.cassandra, createLogger("silent", "test-db"));
  await db.client.execute(`USE ${config.cassandra.keyspace}`, [], { prepare: false });
  return db;
}
