// The one place that builds Redis clients from the configuration: a single Redis (REDIS_URL) or
// a Redis Cluster (REDIS_CLUSTER_NODES), for the adapter, the limits and the outage replay.
import { performance } from "node:perf_hooks";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { Cluster, Redis } from "ioredis";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { StartupError } from "../errors.js";

export type RedisClient = Redis | Cluster;

/** Redact credentials from a Redis URL before it is logged or shown. */
export const safeRedisUrl = (url: string) => url.replace(/\/\/[^@/]*@/, "//***@");

const retry = (times: number) => Math.min(times * 100, 2000);

function where(cfg: Config["redis"]): string {
  return cfg.clusterNodes
    ? `cluster ${cfg.clusterNodes.map((n) => `${n.host}:${n.port}`).join(",")}`
    : safeRedisUrl(cfg.url);
}

function createClient(cfg: Config["redis"], name: string, role: "pub" | "sub"): RedisClient {
  const redisOptions = { connectionName: `${name}-${role}`, maxRetriesPerRequest: 2 };
  // Commands issued in the same tick (publishes, budget counts) leave in one write.
  const enableAutoPipelining = role === "pub";
  if (!cfg.clusterNodes) {
    return new Redis(cfg.url, { ...redisOptions, enableAutoPipelining, retryStrategy: retry });
  }
  return new Cluster(cfg.clusterNodes, {
    redisOptions,
    enableAutoPipelining,
    clusterRetryStrategy: retry,
    // SSUBSCRIBE must reach the master of each channel's slot: one subscriber per master,
    // moved over by ioredis when a replica takes over.
    shardedSubscribers: role === "sub",
    // A killed master's replica takes over within seconds; find the new owner quickly.
    slotsRefreshInterval: 1000,
  });
}

/** Connects, waiting until the deadline for the first `ready`; ioredis reconnects by itself after. */
async function connect(
  cfg: Config["redis"],
  log: Logger,
  name: string,
  role: "pub" | "sub",
): Promise<RedisClient> {
  const client = createClient(cfg, name, role);
  let lastError = "";
  client.on("error", (err: Error) => {
    if (err.message !== lastError) log.warn({ err: err.message, client: role }, "redis error");
    lastError = err.message;
  });
  client.on("ready", () => {
    lastError = "";
  });
  const ready = new Promise<void>((resolve) => client.once("ready", () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), cfg.connectTimeoutS * 1000);
  });
  const outcome = await Promise.race([ready, timeout]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    client.disconnect();
    throw new StartupError(`Redis not reachable at ${where(cfg)} after ${cfg.connectTimeoutS} s`);
  }
  return client;
}

/** The publishing client (also the limits' store) and the subscribing one of a node. */
export async function connectRedis(
  cfg: Config["redis"],
  log: Logger,
  name: string,
): Promise<{ pub: RedisClient; sub: RedisClient }> {
  const pub = await connect(cfg, log, name, "pub");
  try {
    return { pub, sub: await connect(cfg, log, name, "sub") };
  } catch (err) {
    pub.disconnect();
    throw err;
  }
}

const PING_TIMEOUT_MS = 1000;

const withTimeout = (p: Promise<string>, ms: number): Promise<string> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(""), ms)));
  return Promise.race([p.catch(() => ""), late]).finally(() => clearTimeout(timer));
};

const SLOTS = 16384;

/** A cluster node as the slot map names it. */
const nodeKey = (node: Redis) => `${node.options.host}:${node.options.port}`;

/** The master of every slot in the client's slot map; undefined while a slot has none. */
export function slotMasters(client: Cluster): Set<string> | undefined {
  const masters = new Set<string>();
  for (let slot = 0; slot < SLOTS; slot++) {
    const master = client.slots[slot]?.[0];
    if (!master) return undefined;
    masters.add(master);
  }
  return masters;
}

/** Times a PING every `everyMs` (unless one is still out); returns what stops it. */
export function watchRedisLatency(
  client: RedisClient,
  observe: (seconds: number) => void,
  everyMs = 1000,
): () => void {
  let waiting = false;
  const timer = setInterval(() => {
    if (waiting || client.status !== "ready") return;
    waiting = true;
    const started = performance.now();
    client
      .ping()
      .then(() => observe((performance.now() - started) / 1000))
      .catch(() => undefined)
      .finally(() => (waiting = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Whether the client is connected and its Redis (every master of a cluster) answers. */
export async function redisAnswers(client: RedisClient): Promise<boolean> {
  if (client.status !== "ready") return false;
  try {
    if (client instanceof Cluster) {
      // CLUSTER INFO still says ok for the node timeout after a master died, and the dead
      // master stays in the slot map until its replica has taken over: ask each master of the
      // slot map. Not the connection pool's masters: ioredis drops a dead master from the pool
      // at once and takes it back at the next slot refresh, so the pool alone looked whole
      // 1.5 s after a kill, before the failover (the replay then settled too early).
      const keys = slotMasters(client);
      const pool = new Map(client.nodes("master").map((m) => [nodeKey(m), m]));
      const masters = [...(keys ?? [])].flatMap((key) => pool.get(key) ?? []);
      if (!keys || masters.length < keys.size) return false;
      const pongs = await Promise.all(masters.map((m) => withTimeout(m.ping(), PING_TIMEOUT_MS)));
      if (pongs.some((p) => p !== "PONG")) return false;
      return (await client.cluster("INFO")).includes("cluster_state:ok");
    }
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  }
}

/** How often a cluster client checks whether every shard answers again after losing a node. */
const CLUSTER_CHECK_MS = 500;

/**
 * Calls `onLost` when any client loses a connection (a cluster client: a node), and
 * `onRecovered` when every client is ready again (and the cluster serves every slot). Redis
 * pub/sub drops what is published while a subscriber is away, so the caller has to make its
 * clients catch up. `out()` says whether an outage is running (lost since the last recovery).
 */
export function watchRedisOutages(
  clients: RedisClient[],
  hooks: { onLost: () => void; onRecovered: () => void },
): { out: () => boolean } {
  let interrupted = false;
  let checking: NodeJS.Timeout | undefined;
  const recovered = () => {
    interrupted = false;
    // Replies come in order, so these arrive after the re-subscriptions sent on reconnect.
    void Promise.allSettled(clients.map((c) => c.ping())).then(hooks.onRecovered);
  };
  // A cluster client stays `ready` while one node is gone: poll until every slot is served.
  const check = async () => {
    checking = undefined;
    const ok = await Promise.all(clients.map(redisAnswers));
    if (!interrupted) return;
    if (ok.every(Boolean)) recovered();
    else checking = setTimeout(() => void check(), CLUSTER_CHECK_MS).unref();
  };
  const lost = (cluster: boolean) => {
    interrupted = true;
    hooks.onLost();
    if (cluster && !checking) checking = setTimeout(() => void check(), CLUSTER_CHECK_MS).unref();
  };
  for (const client of clients) {
    if (client instanceof Cluster) client.on("-node", () => lost(true));
    client.on("close", () => lost(false));
    client.on("ready", () => {
      if (!interrupted || clients.some((c) => c.status !== "ready") || checking) return;
      recovered();
    });
  }
  return { out: () => interrupted };
}

/**
 * The Socket.IO adapter: classic Pub/Sub, or sharded Pub/Sub (Redis 7+), compared in
 * docs/performance.md; on channels named from `channelPrefix`, shared by the nodes of one
 * deployment and no other.
 */
export function redisAdapter(
  { adapter, channelPrefix }: Pick<Config["redis"], "adapter" | "channelPrefix">,
  pub: RedisClient,
  sub: RedisClient,
) {
  return adapter === "sharded"
    ? createShardedAdapter(pub, sub, { channelPrefix })
    : createAdapter(pub, sub, { key: channelPrefix });
}
