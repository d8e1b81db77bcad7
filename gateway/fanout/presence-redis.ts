// Presence in Redis, one key (or one hash-tagged pair) per script, so it works on a Redis Cluster:
// - `<p>:presence:{nodes}`: a sorted set of node instances scored by the time they become due for
//   sweeping (last renewal + TTL, or a sweeper's lease, as `sweep:<instance>`), and beside it in
//   the same slot a hash of each instance's last renewal;
// - `<p>:presence:{i:<instance>}`: the users with a socket on that instance;
// - `<p>:presence:{u:<user>}:on` and `...:seen`: the instances a user is on, and when their last
//   socket closed.
// Times come from Redis's clock, so nodes whose clocks differ agree on what is due. Reading the
// states a subscription follows is one call on a single Redis, one per user on a Cluster.
import { Cluster } from "ioredis";
import type { PresenceState } from "../../shared/protocol.js";
import { unavailable } from "../errors.js";
import type { PresenceStore } from "../services/ports.js";
import type { RedisClient } from "./redis.js";

/** How long a user's `lastSeen` is kept after their last socket closed. */
const LAST_SEEN_KEPT_MS = 30 * 86_400_000;

const NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)";

const SCRIPTS = {
  // KEYS: registry, renewals. ARGV: instance, ttl ms, fresh (1 registers).
  presenceBeat: {
    numberOfKeys: 2,
    lua: `${NOW}
      if ARGV[3] ~= '1' and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
      redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
      redis.call('HSET', KEYS[2], ARGV[1], now)
      return 1`,
  },
  // KEYS: registry, renewals. ARGV: instance.
  presenceExpire: {
    numberOfKeys: 2,
    lua: `${NOW}
      redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
      redis.call('HSET', KEYS[2], ARGV[1], now)
      return 1`,
  },
  // KEYS: registry, renewals. ARGV: lease ms, max. Returns instance, last renewal, ... Each is
  // re-entered as a lease, so a sweeper that dies leaves it to the next one.
  presenceClaim: {
    numberOfKeys: 2,
    lua: `${NOW}
      local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
      local out = {}
      for _, m in ipairs(due) do
        local instance = m
        if string.sub(m, 1, 6) == 'sweep:' then instance = string.sub(m, 7) end
        redis.call('ZREM', KEYS[1], m)
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), 'sweep:' .. instance)
        table.insert(out, instance)
        table.insert(out, redis.call('HGET', KEYS[2], instance) or tostring(now))
      end
      return out`,
  },
  // KEYS: registry, renewals. ARGV: instance.
  presenceForget: {
    numberOfKeys: 2,
    lua: `redis.call('ZREM', KEYS[1], 'sweep:' .. ARGV[1])
      redis.call('HDEL', KEYS[2], ARGV[1])
      return 1`,
  },
  // KEYS: user's instances. ARGV: instance. 1 when the user was online nowhere before.
  presenceJoin: {
    numberOfKeys: 1,
    lua: `if redis.call('SADD', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 1
      then return 1 end
      return 0`,
  },
  // KEYS: user's instances, last seen. ARGV: instance, time, kept ms. 1 when now online nowhere.
  presenceLeave: {
    numberOfKeys: 2,
    lua: `if redis.call('SREM', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 0 then
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
        return 1
      end
      return 0`,
  },
  // KEYS: users' instances and last seen, in pairs (the count comes first: keys of any slot on a
  // single Redis, of one slot on a Cluster). Returns how many instances and last seen (or false),
  // in pairs.
  presenceStates: {
    lua: `local out = {}
      for i = 1, #KEYS, 2 do
        table.insert(out, redis.call('SCARD', KEYS[i]))
        table.insert(out, redis.call('GET', KEYS[i + 1]))
      end
      return out`,
  },
} as const;

type Scripted = {
  [K in keyof typeof SCRIPTS]: (...keysAndArgs: (string | number)[]) => Promise<unknown>;
};

export class RedisPresenceStore implements PresenceStore {
  private readonly scripts: Scripted;
  private readonly registry: string;
  private readonly renewals: string;

  /**
   * @param prefix one deployment's namespace (its REDIS_CHANNEL_PREFIX): nodes of another never
   * sweep or announce its users.
   * @param ttlMs how long an instance stays listed after its last renewal.
   */
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {
    for (const [name, script] of Object.entries(SCRIPTS)) client.defineCommand(name, script);
    this.scripts = client as unknown as Scripted;
    this.registry = `${prefix}:presence:{nodes}`;
    this.renewals = `${prefix}:presence:{nodes}:renewed`;
  }

  private usersKey = (instance: string) => `${this.prefix}:presence:{i:${instance}}`;
  private onKey = (userId: string) => `${this.prefix}:presence:{u:${userId}}:on`;
  private seenKey = (userId: string) => `${this.prefix}:presence:{u:${userId}}:seen`;

  async beat(instance: string, fresh: boolean) {
    const { registry, renewals, ttlMs } = this;
    return (
      (await this.scripts.presenceBeat(registry, renewals, instance, ttlMs, fresh ? 1 : 0)) === 1
    );
  }

  async expire(instance: string) {
    await this.scripts.presenceExpire(this.registry, this.renewals, instance);
  }

  async claimDead(max: number) {
    const flat = (await this.scripts.presenceClaim(
      this.registry,
      this.renewals,
      this.ttlMs,
      max,
    )) as string[];
    const claimed: { instance: string; lastSeen: Date }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      claimed.push({ instance: flat[i]!, lastSeen: new Date(Number(flat[i + 1])) });
    }
    return claimed;
  }

  async forget(instance: string) {
    await this.scripts.presenceForget(this.registry, this.renewals, instance);
  }

  // One command per user, each to its own slot; ioredis writes them without waiting for answers.
  async join(instance: string, userIds: string[]) {
    if (userIds.length === 0) return [];
    const [, ...firsts] = await Promise.all([
      this.client.sadd(this.usersKey(instance), ...userIds),
      ...userIds.map((u) => this.scripts.presenceJoin(this.onKey(u), instance)),
    ]);
    return userIds.filter((_, i) => firsts[i] === 1);
  }

  async leave(instance: string, userIds: string[], at: Date) {
    if (userIds.length === 0) return [];
    const seen = at.toISOString();
    // Sent in one go: a later join of the same user to this instance must come after the SREM.
    const scripts = userIds.map((u) =>
      this.scripts.presenceLeave(this.onKey(u), this.seenKey(u), instance, seen, LAST_SEEN_KEPT_MS),
    );
    const [lasts] = await Promise.all([
      Promise.all(scripts),
      this.client.srem(this.usersKey(instance), ...userIds),
    ]);
    return userIds.filter((_, i) => lasts[i] === 1);
  }

  async usersOf(instance: string, count: number) {
    return this.client.srandmember(this.usersKey(instance), count);
  }

  async states(userIds: string[]): Promise<PresenceState[]> {
    if (userIds.length === 0) return [];
    const keys = (u: string) => [this.onKey(u), this.seenKey(u)];
    const read = (users: string[]) =>
      this.scripts.presenceStates(users.length * 2, ...users.flatMap(keys)) as Promise<
        (number | string | null)[]
      >;
    try {
      const flat =
        this.client instanceof Cluster
          ? (await Promise.all(userIds.map((u) => read([u])))).flat()
          : await read(userIds);
      return userIds.map((userId, i) => {
        const [instances, seen] = [flat[i * 2], flat[i * 2 + 1]];
        if (typeof instances === "number" && instances > 0) return { userId, online: true };
        return typeof seen === "string"
          ? { userId, online: false, lastSeen: seen }
          : { userId, online: false };
      });
    } catch (err) {
      throw Object.assign(unavailable("presence cannot be read now; retry later"), { cause: err });
    }
  }
}
