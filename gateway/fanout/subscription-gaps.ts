// While a node's subscriber is cut off from Redis (or from one master of a Redis Cluster), it
// misses what every node publishes to it, and only this node can tell when its subscriptions
// work again. The publishers' replay (outage-replay.ts) is timed by each publisher's own view
// of the outage, so it cannot cover a subscriber that comes back later: in a failed run of the
// cluster fault suite one node saw the promoted replica 8.7 s after the kill and subscribed to
// it at 9.2 s, after the other nodes' last replays of what they had kept (6.4 s and 7.8 s), and
// its users lost those broadcasts for good. So once its subscriptions work again, the node
// tells the users connected to it to catch up from storage, where every acknowledged message
// already is.
import { randomUUID } from "node:crypto";
import { Cluster, Command } from "ioredis";
import { sleep } from "../../shared/sleep.js";
import { redisAnswers, slotMasters, type RedisClient } from "./redis.js";

/** Pause between checks while the subscriptions are not back. */
const CHECK_MS = 500;
/** How long a probe may take to come back through the subscriber. */
const PROBE_TIMEOUT_MS = 2000;
/** Candidate probe channel names tried to find one for each master. */
const PROBE_NAMES = 10_000;

/** This process's probe channels: no other node subscribes to them. */
const probePrefix = `gateway-probe:${randomUUID()}:`;

/** Resolves with `p`'s outcome, or false when it takes longer than `ms` or fails. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** One probe channel per master of the subscriber's slot map; undefined if a slot has none. */
function probeChannels(sub: Cluster): string[] | undefined {
  const masters = slotMasters(sub);
  if (!masters) return undefined;
  const byMaster = new Map<string, string>();
  for (let i = 0; i < PROBE_NAMES && byMaster.size < masters.size; i++) {
    const channel = `${probePrefix}${i}`;
    const master = sub.slots[new Command("spublish", [channel]).getSlot()]?.[0];
    if (master && !byMaster.has(master)) byMaster.set(master, channel);
  }
  return byMaster.size === masters.size ? [...byMaster.values()] : undefined;
}

/**
 * Whether a message published now on each master reaches the cluster subscriber. ioredis
 * subscribes to a promoted replica again with every channel of its slots in one burst, then
 * takes further SSUBSCRIBEs on the same connection, so a probe that comes back follows the
 * adapter's own subscriptions.
 */
async function shardsDeliver(pub: Cluster, sub: Cluster): Promise<boolean> {
  const channels = probeChannels(sub);
  if (!channels) return false;
  const token = randomUUID();
  const pending = new Set(channels);
  let arrived: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (arrived = resolve));
  const onMessage = (channel: string, message: string) => {
    if (message === token && pending.delete(channel) && pending.size === 0) arrived();
  };
  sub.on("smessage", onMessage);
  try {
    // One command per channel: ioredis refuses an SSUBSCRIBE whose channels lie in different slots.
    const subscribed = Promise.all(channels.map((c) => sub.ssubscribe(c)));
    if (!(await within(subscribed, PROBE_TIMEOUT_MS))) return false;
    const published = Promise.all(channels.map((c) => pub.spublish(c, token)));
    if (!(await within(published, PROBE_TIMEOUT_MS))) return false;
    return await within(all, PROBE_TIMEOUT_MS);
  } finally {
    sub.off("smessage", onMessage);
    for (const c of channels) sub.sunsubscribe(c).catch(() => undefined);
  }
}

/** Whether the subscriber's subscriptions work: every master's for a cluster. */
async function subscriptionsWork(pub: RedisClient, sub: RedisClient): Promise<boolean> {
  if (sub instanceof Cluster) {
    return pub instanceof Cluster && (await redisAnswers(sub)) && (await shardsDeliver(pub, sub));
  }
  // ioredis subscribes again on reconnect before `ready`, and replies come in order.
  return sub.status === "ready" && (await within(sub.ping(), PROBE_TIMEOUT_MS));
}

/**
 * Calls `back` each time the subscriber's subscriptions work again after it lost a connection
 * (a cluster subscriber: to any node), with no loss during the check.
 */
export function watchSubscriptionGaps(pub: RedisClient, sub: RedisClient, back: () => void) {
  let losses = 0;
  let checking = false;
  const check = async () => {
    checking = true;
    try {
      for (;;) {
        await sleep(CHECK_MS);
        if (sub.status === "end") return; // shut down
        const seen = losses;
        if ((await subscriptionsWork(pub, sub)) && seen === losses) break;
      }
    } finally {
      checking = false;
    }
    back();
  };
  const lost = () => {
    losses++;
    if (!checking) void check();
  };
  sub.on("close", lost);
  if (sub instanceof Cluster) sub.on("-node", lost);
}
