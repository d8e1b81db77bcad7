// When a node's Redis connections come back after an outage, it sends its kept broadcasts again:
// once at once, and once more when every node has surely resubscribed. Then the recipients of
// broadcasts that did not fit in the backlog are told to catch up.
import type { Logger } from "../logger.js";
import { mergeLost, type Broadcast, type Lost, type OutageBacklog } from "./outage-backlog.js";
import { watchRedisOutages, type RedisClient } from "./redis.js";

/** ioredis retries at most every 2 s (redis.ts), so by then every node is subscribed again. */
const REPLAY_AGAIN_MS = 4000;

export function replayAfterOutages(
  pub: RedisClient,
  sub: RedisClient,
  backlog: OutageBacklog,
  hooks: {
    replayed: (broadcasts: number) => void;
    /** Broadcasts to these users were dropped, not replayed: they must catch up from storage. */
    lost: (users: Lost) => void;
    log: Logger;
  },
) {
  const replay = (broadcasts: Broadcast[]) => {
    for (const broadcast of broadcasts) broadcast.emit();
    hooks.replayed(broadcasts.length);
  };
  const onRecovered = () => {
    const first = backlog.take();
    replay(first.broadcasts);
    hooks.log.warn({ broadcasts: first.broadcasts.length }, "redis back; replaying the outage");
    setTimeout(() => {
      // Not while the outage runs again (a cluster node lost anew): its own recovery settles.
      if (!watch.out() && pub.status === "ready" && sub.status === "ready") backlog.settle();
      const rest = backlog.take();
      replay([...first.broadcasts, ...rest.broadcasts]);
      const lost = mergeLost(first.lost, rest.lost);
      if (lost === "everyone" || lost.size > 0) hooks.lost(lost);
    }, REPLAY_AGAIN_MS).unref();
  };
  const watch = watchRedisOutages([pub, sub], { onLost: () => backlog.keep(), onRecovered });
}
