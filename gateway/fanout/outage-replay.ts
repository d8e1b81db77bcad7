// When a node's Redis connections come back after an outage, it sends its kept broadcasts again:
// once at once, and once more when every node has surely resubscribed.
import type { Logger } from "../logger.js";
import type { Broadcast, OutageBacklog } from "./outage-backlog.js";
import { watchRedisOutages, type RedisClient } from "./redis.js";

/** ioredis retries at most every 2 s (redis.ts), so by then every node is subscribed again. */
const REPLAY_AGAIN_MS = 4000;

export function replayAfterOutages(
  pub: RedisClient,
  sub: RedisClient,
  backlog: OutageBacklog,
  hooks: {
    replayed: (broadcasts: number) => void;
    /** The backlog overflowed: what was lost is unknown, so clients must catch up instead. */
    overflowed: () => void;
    log: Logger;
  },
) {
  const replay = (broadcasts: Broadcast[]) => {
    for (const broadcast of broadcasts) broadcast();
    hooks.replayed(broadcasts.length);
  };
  const onRecovered = () => {
    const first = backlog.take();
    replay(first.broadcasts);
    hooks.log.warn({ broadcasts: first.broadcasts.length }, "redis back; replaying the outage");
    setTimeout(() => {
      if (pub.status === "ready" && sub.status === "ready") backlog.settle();
      const rest = backlog.take();
      if (first.complete && rest.complete) replay([...first.broadcasts, ...rest.broadcasts]);
      else hooks.overflowed();
    }, REPLAY_AGAIN_MS).unref();
  };
  watchRedisOutages([pub, sub], { onLost: () => backlog.keep(), onRecovered });
}
