// Every setting the gateway reads, validated in one place. The README's configuration table
// and docker-compose.yml are checked against CONFIG_VARIABLES by test/compose.test.ts.
import os from "node:os";
import { z } from "zod";
import { ConfigError } from "./errors.js";
import { DEV_JWT_SECRET, KNOWN_SECRETS, MIN_PRODUCTION_SECRET_BYTES } from "./known-secrets.js";

/** A request budget: "points/seconds", e.g. "60/10" for 60 requests per 10 seconds. */
const budget = z
  .string()
  .regex(/^\d{1,7}\/\d{1,5}$/, 'requests per window, as "points/seconds" (e.g. 60/10)')
  .transform((v) => {
    const [points, windowS] = v.split("/").map(Number) as [number, number];
    return { points: Math.max(1, points), windowS: Math.max(1, windowS) };
  });

export const BUDGET_KINDS = [
  "send",
  "change",
  "create",
  "member",
  "open",
  "read",
  "typing",
  "history",
  "list",
  "refresh",
  "presence",
] as const;
export type BudgetKind = (typeof BUDGET_KINDS)[number];

/**
 * Every request budget set to `value` ("points/seconds"): for load tests and benchmarks, whose
 * virtual users go far beyond a person's pace while the limiters stay on.
 */
export const allBudgets = (value: string): Record<string, string> =>
  Object.fromEntries(BUDGET_KINDS.map((kind) => [`RATE_LIMIT_${kind.toUpperCase()}`, value]));

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    // Loopback unless set: a development node (with POST /dev/token) is not on the network.
    HOST: z.string().min(1).default("127.0.0.1"),
    PORT: int(0, 65535).default(3000),
    NODE_ID: z.string().min(1).default(`${os.hostname()}-${process.pid}`),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
    JWT_SECRET: z.string().min(1).optional(),
    JWT_PUBLIC_KEY: z.string().min(1).optional(),
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
    JWT_CLOCK_TOLERANCE_S: int(0, 300).default(5),
    // 0: no warning, the session just ends at `exp` (a client can still refresh at any time).
    SESSION_EXPIRING_S: int(0, 86_400).default(60),
    // 0: every read of names goes to Cassandra.
    NAMES_CACHE_S: int(0, 3600).default(30),
    CASSANDRA_CONTACT_POINTS: z.string().min(1).default("127.0.0.1:9042"),
    CASSANDRA_LOCAL_DC: z.string().min(1).default("datacenter1"),
    CASSANDRA_KEYSPACE: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,47}$/, "lower-case letters, digits and _")
      .default("chat"),
    CASSANDRA_REPLICATION: z
      .string()
      .default("{'class': 'SimpleStrategy', 'replication_factor': 1}"),
    CASSANDRA_CONSISTENCY: z
      .enum(["LOCAL_QUORUM", "QUORUM", "EACH_QUORUM", "LOCAL_ONE", "ONE", "TWO", "THREE", "ALL"])
      .default("LOCAL_QUORUM"),
    CASSANDRA_USERNAME: z.string().optional(),
    CASSANDRA_PASSWORD: z.string().optional(),
    CASSANDRA_CONNECT_TIMEOUT_S: int(1, 600).default(60),
    CASSANDRA_COALESCE_MS: int(0, 20).default(1),
    MIGRATE_ON_START: bool.default(true),
    REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
    REDIS_CLUSTER_NODES: z
      .string()
      .regex(/^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/, "comma-separated host:port")
      .optional(),
    REDIS_CONNECT_TIMEOUT_S: int(1, 600).default(60),
    // Default: classic on one Redis, sharded on a Redis Cluster (docs/performance.md, "Fan-out
    // cost by node count").
    REDIS_ADAPTER: z.enum(["classic", "sharded"]).optional(),
    REDIS_CHANNEL_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "1-64 characters of [A-Za-z0-9_.:-]")
      .default("socket.io"),
    MESSAGE_BUCKET_MS: int(1, 2_147_483_647).default(86_400_000),
    INBOX_SLOT_MS: int(1, 2_147_483_647).default(3_600_000),
    FANOUT_REPLAY_BACKLOG: int(1, 10_000_000).default(20_000),
    SEND_BUFFER_LIMIT_BYTES: int(64 * 1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
    SHUTDOWN_TIMEOUT_S: int(1, 600).default(10),
    WEB_ROOT: z.string().min(1).default("web/dist"),
    // Above the largest valid request (32 KiB), so a too-long request is answered, not cut off.
    MAX_FRAME_BYTES: int(65_536, 100 * 1024 * 1024).default(1024 * 1024),
    RATE_LIMIT_SEND: budget.prefault("60/10"),
    RATE_LIMIT_CHANGE: budget.prefault("60/10"),
    RATE_LIMIT_CREATE: budget.prefault("20/60"),
    RATE_LIMIT_MEMBER: budget.prefault("60/60"),
    RATE_LIMIT_OPEN: budget.prefault("60/60"),
    RATE_LIMIT_READ: budget.prefault("120/10"),
    RATE_LIMIT_TYPING: budget.prefault("60/10"),
    RATE_LIMIT_HISTORY: budget.prefault("300/10"),
    RATE_LIMIT_LIST: budget.prefault("60/10"),
    RATE_LIMIT_REFRESH: budget.prefault("10/60"),
    RATE_LIMIT_PRESENCE: budget.prefault("60/60"),
    // 0: every send is counted in Redis before it is taken (exact, one round trip per send).
    RATE_LIMIT_SEND_SYNC_MS: int(0, 10_000).default(100),
    MAX_REQUESTS_IN_FLIGHT: int(1, 10_000).default(32),
    MAX_SOCKETS_PER_USER: int(1, 10_000).default(10),
    HANDSHAKES_PER_IP_PER_S: int(1, 100_000).default(50),
    TRUST_PROXY: bool.default(false),
    PRESENCE_HEARTBEAT_S: int(1, 3600).default(10),
    PRESENCE_TTL_S: int(2, 86_400).default(30),
    PRESENCE_OFFLINE_GRACE_MS: int(0, 600_000).default(2000),
    PRESENCE_MAX_USERS: int(1, 10_000).default(100),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production" && !env.JWT_SECRET && !env.JWT_PUBLIC_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["JWT_SECRET"],
        message: "JWT_SECRET or JWT_PUBLIC_KEY is required in production",
      });
    }
    if (env.NODE_ENV === "production" && env.JWT_SECRET !== undefined) {
      const problem = productionSecretProblem(env.JWT_SECRET);
      if (problem) ctx.addIssue({ code: "custom", path: ["JWT_SECRET"], message: problem });
    }
    if (env.PRESENCE_TTL_S <= env.PRESENCE_HEARTBEAT_S) {
      ctx.addIssue({
        code: "custom",
        path: ["PRESENCE_TTL_S"],
        message: "must be longer than PRESENCE_HEARTBEAT_S, or live nodes would be swept",
      });
    }
  });

/** Why a secret must not sign production tokens, or undefined when it may. */
function productionSecretProblem(secret: string): string | undefined {
  if (KNOWN_SECRETS.includes(secret)) {
    return "is published in this repository; set a random one (openssl rand -hex 32)";
  }
  const bytes = Buffer.byteLength(secret, "utf8");
  if (bytes < MIN_PRODUCTION_SECRET_BYTES) {
    return `is ${bytes} bytes; production needs at least ${MIN_PRODUCTION_SECRET_BYTES} (openssl rand -hex 32)`;
  }
  return undefined;
}

export type Env = z.output<typeof envSchema>;

export type Config = {
  env: Env["NODE_ENV"];
  host: string;
  port: number;
  nodeId: string;
  logLevel: Env["LOG_LEVEL"];
  jwt: {
    secret: string;
    publicKey?: string;
    issuer?: string;
    audience?: string;
    clockToleranceS: number;
  };
  /** How long before its token's `exp` a socket is sent `session:expiring`; 0: never. */
  sessionExpiringS: number;
  /** How long a node reuses display names it read; a new name reaches other nodes within it. */
  namesCacheS: number;
  cassandra: {
    contactPoints: string[];
    localDataCenter: string;
    keyspace: string;
    replication: string;
    /** Of every read and write; LOCAL_QUORUM survives one replica down at replication factor 3. */
    consistency: Env["CASSANDRA_CONSISTENCY"];
    username?: string;
    password?: string;
    connectTimeoutS: number;
    /** How long a node holds Cassandra requests so that those issued meanwhile go out together. */
    coalesceMs: number;
    migrateOnStart: boolean;
  };
  redis: {
    url: string;
    /** A Redis Cluster's startup nodes; when set, REDIS_URL is not used. */
    clusterNodes?: { host: string; port: number }[];
    connectTimeoutS: number;
    adapter: "classic" | "sharded";
    /** Names the adapter's channels: one deployment's nodes share it (requests wait for all). */
    channelPrefix: string;
  };
  storage: { messageBucketMs: number; inboxSlotMs: number };
  /** Broadcasts a node keeps to send again after a Redis outage; past it, recipients catch up. */
  fanOutReplayBacklog: number;
  /** Bytes a socket may have queued for sending before it is disconnected as too slow. */
  sendBufferLimitBytes: number;
  shutdownTimeoutS: number;
  /** The built web app, served at / outside production. */
  webRoot: string;
  limits: LimitsConfig;
  presence: PresenceConfig;
};

export type PresenceConfig = {
  /** How often a node renews its entry and sweeps the entries of nodes that stopped renewing. */
  heartbeatMs: number;
  /** How long a node's entry outlives its last renewal; a dead node's users go offline after it. */
  ttlMs: number;
  /** How long a user's last socket on a node may be gone before they count as offline there. */
  offlineGraceMs: number;
  /** Users one socket may follow at once. */
  maxUsers: number;
};

export type LimitsConfig = {
  maxFrameBytes: number;
  /** Requests per user and window, by kind. */
  budgets: Record<BudgetKind, { points: number; windowS: number }>;
  /** How often a node adds the sends it counted to Redis; 0 counts each send in Redis first. */
  sendSyncMs: number;
  /** Requests one socket may have running at once. */
  maxInFlight: number;
  maxSocketsPerUser: number;
  handshakesPerIpPerS: number;
  /** Take the client address from the last X-Forwarded-For entry (set by our load balancer). */
  trustProxy: boolean;
};

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    nodeId: e.NODE_ID,
    logLevel: e.LOG_LEVEL,
    jwt: {
      secret: e.JWT_SECRET ?? DEV_JWT_SECRET,
      publicKey: e.JWT_PUBLIC_KEY?.replace(/\\n/g, "\n"),
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      clockToleranceS: e.JWT_CLOCK_TOLERANCE_S,
    },
    sessionExpiringS: e.SESSION_EXPIRING_S,
    namesCacheS: e.NAMES_CACHE_S,
    cassandra: {
      contactPoints: e.CASSANDRA_CONTACT_POINTS.split(",").map((s) => s.trim()),
      localDataCenter: e.CASSANDRA_LOCAL_DC,
      keyspace: e.CASSANDRA_KEYSPACE,
      replication: e.CASSANDRA_REPLICATION,
      consistency: e.CASSANDRA_CONSISTENCY,
      username: e.CASSANDRA_USERNAME,
      password: e.CASSANDRA_PASSWORD,
      connectTimeoutS: e.CASSANDRA_CONNECT_TIMEOUT_S,
      coalesceMs: e.CASSANDRA_COALESCE_MS,
      migrateOnStart: e.MIGRATE_ON_START,
    },
    redis: {
      url: e.REDIS_URL,
      clusterNodes: e.REDIS_CLUSTER_NODES?.split(",").map((node) => {
        const [host = "", port = ""] = node.trim().split(":");
        return { host, port: Number(port) };
      }),
      connectTimeoutS: e.REDIS_CONNECT_TIMEOUT_S,
      adapter: e.REDIS_ADAPTER ?? (e.REDIS_CLUSTER_NODES ? "sharded" : "classic"),
      channelPrefix: e.REDIS_CHANNEL_PREFIX,
    },
    storage: { messageBucketMs: e.MESSAGE_BUCKET_MS, inboxSlotMs: e.INBOX_SLOT_MS },
    fanOutReplayBacklog: e.FANOUT_REPLAY_BACKLOG,
    sendBufferLimitBytes: e.SEND_BUFFER_LIMIT_BYTES,
    shutdownTimeoutS: e.SHUTDOWN_TIMEOUT_S,
    webRoot: e.WEB_ROOT,
    limits: {
      maxFrameBytes: e.MAX_FRAME_BYTES,
      budgets: {
        send: e.RATE_LIMIT_SEND,
        change: e.RATE_LIMIT_CHANGE,
        create: e.RATE_LIMIT_CREATE,
        member: e.RATE_LIMIT_MEMBER,
        open: e.RATE_LIMIT_OPEN,
        read: e.RATE_LIMIT_READ,
        typing: e.RATE_LIMIT_TYPING,
        history: e.RATE_LIMIT_HISTORY,
        list: e.RATE_LIMIT_LIST,
        refresh: e.RATE_LIMIT_REFRESH,
        presence: e.RATE_LIMIT_PRESENCE,
      },
      sendSyncMs: e.RATE_LIMIT_SEND_SYNC_MS,
      maxInFlight: e.MAX_REQUESTS_IN_FLIGHT,
      maxSocketsPerUser: e.MAX_SOCKETS_PER_USER,
      handshakesPerIpPerS: e.HANDSHAKES_PER_IP_PER_S,
      trustProxy: e.TRUST_PROXY,
    },
    presence: {
      heartbeatMs: e.PRESENCE_HEARTBEAT_S * 1000,
      ttlMs: e.PRESENCE_TTL_S * 1000,
      offlineGraceMs: e.PRESENCE_OFFLINE_GRACE_MS,
      maxUsers: e.PRESENCE_MAX_USERS,
    },
  };
}

/** The variables and their defaults, as documented in the README and used by docker-compose. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape);
