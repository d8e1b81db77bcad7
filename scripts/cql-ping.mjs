#!/usr/bin/env node
// Wait until a Cassandra node answers a real CQL query, then exit 0.
//
//   node scripts/cql-ping.mjs [--contact-points h:p[,h:p]] [--timeout SECONDS] [--pid PID] [--quiet]
//
// Contact points default to $CASSANDRA_CONTACT_POINTS, else 127.0.0.1:${CASSANDRA_LOCAL_PORT:-9042}.
// Runs `SELECT release_version FROM system.local` until it answers or the deadline passes
// (exit 1). With --pid, gives up early (exit 2) as soon as that process is gone, so a
// Cassandra that died while booting is reported at once instead of after the deadline.
// On success prints the release version on stdout. Optional $CASSANDRA_USERNAME and
// $CASSANDRA_PASSWORD enable plain-text auth.
import { readFileSync } from "node:fs";
import cassandra from "cassandra-driver";

function parseArgs(argv) {
  const opts = {
    contactPoints:
      process.env.CASSANDRA_CONTACT_POINTS ||
      `127.0.0.1:${process.env.CASSANDRA_LOCAL_PORT || "9042"}`,
    timeoutSec: 180,
    pid: 0,
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${arg}`);
      return argv[++i];
    };
    if (arg === "--contact-points") opts.contactPoints = next();
    else if (arg === "--timeout") opts.timeoutSec = Number(next());
    else if (arg === "--pid") opts.pid = Number(next());
    else if (arg === "--quiet" || arg === "-q") opts.quiet = true;
    else if (arg === "--help" || arg === "-h") usage();
    else usage(`unknown argument: ${arg}`);
  }
  if (!Number.isFinite(opts.timeoutSec) || opts.timeoutSec < 0) usage("bad --timeout");
  if (!Number.isInteger(opts.pid) || opts.pid < 0) usage("bad --pid");
  return opts;
}

function usage(message) {
  if (message) process.stderr.write(`cql-ping: ${message}\n`);
  process.stderr.write(
    "usage: cql-ping.mjs [--contact-points h:p[,h:p]] [--timeout SECONDS] [--pid PID] [--quiet]\n",
  );
  process.exit(message ? 64 : 0);
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === "EPERM";
  }
  // A zombie (exited, not yet reaped) still passes kill(pid, 0).
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: trust kill(pid, 0)
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function tryOnce(contactPoints, budgetMs) {
  const timeout = Math.max(500, Math.min(5000, budgetMs));
  const options = {
    contactPoints,
    // Round-robin needs no local data center name, so this also works against
    // a cluster whose DC is not 'datacenter1'.
    policies: {
      loadBalancing: new cassandra.policies.loadBalancing.RoundRobinPolicy(),
      reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(60000),
    },
    socketOptions: { connectTimeout: timeout, readTimeout: timeout },
    pooling: { warmup: false },
    isMetadataSyncEnabled: false,
  };
  if (process.env.CASSANDRA_USERNAME) {
    options.authProvider = new cassandra.auth.PlainTextAuthProvider(
      process.env.CASSANDRA_USERNAME,
      process.env.CASSANDRA_PASSWORD || "",
    );
  }
  const client = new cassandra.Client(options);
  try {
    await client.connect();
    const rs = await client.execute("SELECT release_version FROM system.local");
    const row = rs.first();
    return row ? String(row.release_version) : "unknown";
  } finally {
    await client.shutdown().catch(() => {});
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const contactPoints = opts.contactPoints
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const deadline = Date.now() + opts.timeoutSec * 1000;
  let lastError;
  for (;;) {
    try {
      const version = await tryOnce(contactPoints, deadline - Date.now());
      process.stdout.write(`${version}\n`);
      return 0;
    } catch (err) {
      lastError = err;
    }
    if (opts.pid && !processAlive(opts.pid)) {
      if (!opts.quiet) process.stderr.write(`cql-ping: process ${opts.pid} exited\n`);
      return 2;
    }
    if (Date.now() + 1000 > deadline) break;
    await sleep(1000);
  }
  if (!opts.quiet) {
    const msg =
      lastError && lastError.message ? lastError.message.split("\n")[0] : String(lastError);
    process.stderr.write(`cql-ping: no CQL answer from ${contactPoints.join(",")}: ${msg}\n`);
  }
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`cql-ping: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
