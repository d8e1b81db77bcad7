// Applies cql/NNN_name.cql in order, once each, recording what it applied in the keyspace.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MigrationError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Db } from "./cassandra.js";

export const CQL_DIR = fileURLToPath(new URL("../../cql/", import.meta.url));

export function splitStatements(cql: string): string[] {
  return cql
    .split("\n")
    .map((line) => line.replace(/--.*$/, ""))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

type MigrationFile = { version: string; name: string; statements: string[]; checksum: string };

async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => /^\d+_.+\.cql$/.test(n)).sort();
  return Promise.all(
    names.map(async (name) => {
      const text = await readFile(path.join(dir, name), "utf8");
      return {
        version: name.split("_")[0] as string,
        name,
        statements: splitStatements(text),
        checksum: createHash("sha256").update(text).digest("hex").slice(0, 16),
      };
    }),
  );
}

/** How long a schema change may take to reach every node before migrating fails. */
const AGREEMENT_TIMEOUT_MS = 60_000;

/**
 * Waits until every connected node has the same schema. The driver's own check asks one node
 * about its peers, whose view lags: on a three-node cluster the next statement could still run
 * on a node that had not heard of the keyspace just created.
 */
export async function schemaAgreement(db: Db) {
  const deadline = Date.now() + AGREEMENT_TIMEOUT_MS;
  for (;;) {
    const hosts = db.client.getState().getConnectedHosts();
    const versions = await Promise.all(
      hosts.map(async (host) => {
        const rs = await db.client.execute("SELECT schema_version FROM system.local", [], {
          host,
          prepare: false,
        });
        return String(rs.first()?.get("schema_version"));
      }),
    );
    if (new Set(versions).size <= 1) return;
    if (Date.now() > deadline) throw new Error("nodes disagree on the schema");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export type MigrateResult = { applied: string[]; skipped: string[] };

/** Creates the keyspace if needed, switches the client to it, and applies what is missing. */
export async function migrate(
  db: Db,
  opts: { keyspace: string; replication: string; dir?: string },
  log: Logger,
): Promise<MigrateResult> {
  const run = async (what: string, statement: string) => {
    try {
      // Unprepared: each runs once, and a prepared schema statement is bound to the keyspace
      // it was prepared in (Cassandra logs an error when it then runs in another).
      await db.client.execute(statement, [], { prepare: false });
      if (!statement.startsWith("USE ")) await schemaAgreement(db);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new MigrationError(`${what}: ${reason}\n  statement: ${statement.split("\n")[0]}`);
    }
  };
  await run(
    "keyspace",
    `CREATE KEYSPACE IF NOT EXISTS ${opts.keyspace} WITH replication = ${opts.replication}`,
  );
  await run("keyspace", `USE ${opts.keyspace}`);
  await run(
    "migration table",
    `CREATE TABLE IF NOT EXISTS ${opts.keyspace}.schema_migrations (version text PRIMARY KEY, name text, checksum text, applied_at timestamp)`,
  );
  const done = new Map(
    (await db.execute(`SELECT version, checksum FROM ${opts.keyspace}.schema_migrations`)).rows.map(
      (r) => [r.get("version") as string, r.get("checksum") as string],
    ),
  );
  const result: MigrateResult = { applied: [], skipped: [] };
  for (const file of await readMigrations(opts.dir ?? CQL_DIR)) {
    const recorded = done.get(file.version);
    if (recorded !== undefined) {
      if (recorded !== file.checksum) {
        log.warn({ file: file.name }, "applied migration file has changed since; not re-applied");
      }
      result.skipped.push(file.name);
      continue;
    }
    for (const [i, statement] of file.statements.entries()) {
      await run(`cql/${file.name} statement ${i + 1}`, statement);
    }
    await db.execute(
      // Qualified: one client may migrate several keyspaces, and a prepared unqualified
      // statement is bound to the keyspace it was prepared in.
      `INSERT INTO ${opts.keyspace}.schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`,
      [file.version, file.name, file.checksum, new Date()],
    );
    log.info({ file: file.name }, "migration applied");
    result.applied.push(file.name);
  }
  return result;
}
