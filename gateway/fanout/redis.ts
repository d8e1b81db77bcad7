import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { StartupError } from "../errors.js";

/** Redact credentials from a Redis URL before it is logged or shown. */
export const safeRedisUrl = (url: string) => url.replace(/\/\/[^@/]*@/, "//***@");

/** Connects, waiting until the deadline for the first `ready`; ioredis reconnects by itself after. */
export async function connectRedis(
  cfg: Config["redis"],
  log: Logger,
  name: string,
): Promise<Redis> {
  const client = new Redis(cfg.url, {
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    maxRetriesPerRequest: 2,
  });
  let lastError = "";
  client.on("error", (err: Error) => {
    if (err.message !== lastError) log.warn({ err: err.message, client: name }, "redis error");
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
    throw new StartupError(
      `Redis not reachable at ${safeRedisUrl(cfg.url)} after ${cfg.connectTimeoutS} s`,
    );
  }
  return client;
}

/**
 * Calls `onRecovered` when every client is ready again after any of them lost its connection.
 * Redis pub/sub drops what is published while a subscriber is away, so the caller has to make
 * its clients catch up from storage.
 */
export function whenRedisRecovers(clients: Redis[], onRecovered: () => void) {
  let interrupted = false;
  for (const client of clients) {
    client.on("close", () => {
      interrupted = true;
    });
    client.on("ready", () => {
      if (!interrupted || clients.some((c) => c.status !== "ready")) return;
      interrupted = false;
      // Replies come in order, so these arrive after the re-subscriptions sent on reconnect.
      void Promise.allSettled(clients.map((c) => c.ping())).then(onRecovered);
    });
  }
}

/** The Socket.IO adapter: classic Pub/Sub, or sharded Pub/Sub (Redis 7+); compared in docs/performance.md. */
export function redisAdapter(kind: Config["redis"]["adapter"], pub: Redis, sub: Redis) {
  return kind === "sharded" ? createShardedAdapter(pub, sub) : createAdapter(pub, sub);
}
