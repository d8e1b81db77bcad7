// The bench keyspace: created and migrated when missing, reused otherwise (its rows only grow;
// drop it with `DROP KEYSPACE chat_bench` to start empty).
import { loadConfig } from "../gateway/config.js";
import { createLogger } from "../gateway/logger.js";
import { connectCassandra, type Db } from "../gateway/storage/cassandra.js";
import { migrate } from "../gateway/storage/migrate.js";

export function benchConfig(keyspace: string) {
  return loadConfig({ ...process.env, NODE_ENV: "development", CASSANDRA_KEYSPACE: keyspace });
}

/**
 * A driver session on the migrated keyspace; the caller shuts it down. Its requests go out at
 * once (no CASSANDRA_COALESCE_MS window): a bench's own client keeps its requests coming back to
 * back, where a window would only add waits (a storage ceiling with 64 messages in flight and four
 * round trips each is bounded by them).
 */
export async function openBenchDb(keyspace: string): Promise<Db> {
  const { cassandra } = benchConfig(keyspace);
  const log = createLogger("warn", "bench");
  const db = await connectCassandra({ ...cassandra, connectTimeoutS: 30, coalesceMs: 0 }, log);
  await migrate(db, { keyspace, replication: cassandra.replication }, log);
  return db;
}

export async function ensureKeyspace(keyspace: string) {
  const db = await openBenchDb(keyspace);
  await db.client.shutdown();
}
