// A per-user budget counted on this node and reconciled through Redis in the background, so a
// request costs no Redis round trip. Windows are aligned to the clock, so every node agrees which
// window a request falls in. Every `syncMs` the node adds what it admitted per user to that user's
// window counter in Redis (all users' commands leave in one pipelined write) and learns the total
// of all nodes. The error is one-sided and bounded: beyond the budget, a user gets at most what
// their other nodes admit before their next sync (at most `points` each, when a burst reaches
// several nodes within one interval). While Redis is unreachable each node counts alone.
import type { RedisClient } from "../fanout/redis.js";
import type { Logger } from "../logger.js";

// Adds to a window's counter; the counter outlives its window by one window, for nodes whose
// clocks run behind. One command, so a counter never stays without its expiry.
const ADD = `local total = redis.call("INCRBY", KEYS[1], ARGV[1])
if total == tonumber(ARGV[1]) then redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
return total`;

type Count = { window: number; known: number; pending: number };

export type SyncedBudgetOptions = {
  /** Redis key prefix of the window counters. */
  keyPrefix: string;
  points: number;
  windowS: number;
  syncMs: number;
  now?: () => number;
};

export class SyncedBudget {
  private readonly counts = new Map<string, Count>();
  private readonly windowMs: number;
  private readonly now: () => number;
  private syncing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly opts: SyncedBudgetOptions,
    private readonly log: Logger,
  ) {
    this.windowMs = opts.windowS * 1000;
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => void this.sync(), opts.syncMs);
    this.timer.unref();
  }

  /** Counts one request of `userId`: 0 if admitted, else the milliseconds until the next window. */
  take(userId: string): number {
    const now = this.now();
    const window = this.windowOf(now);
    let count = this.counts.get(userId);
    if (count?.window !== window) {
      count = { window, known: 0, pending: 0 };
      this.counts.set(userId, count);
    }
    if (count.known + count.pending >= this.opts.points) {
      return Math.max(1, (window + 1) * this.windowMs - now);
    }
    count.pending++;
    return 0;
  }

  /** Adds what this node admitted since the last sync to Redis; learns every node's total. */
  sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => (this.syncing = null));
    return this.syncing;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private windowOf(ms: number): number {
    return Math.floor(ms / this.windowMs);
  }

  private async syncOnce(): Promise<void> {
    const window = this.windowOf(this.now());
    const adds: Promise<void>[] = [];
    for (const [userId, count] of this.counts) {
      if (count.window < window) this.counts.delete(userId);
      else if (count.pending > 0) adds.push(this.add(userId, count));
    }
    const results = await Promise.allSettled(adds);
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed > 0) this.log.warn({ failed }, "request budget not synced; counting on this node");
  }

  private async add(userId: string, count: Count): Promise<void> {
    const n = count.pending;
    count.pending = 0;
    const key = `${this.opts.keyPrefix}:${userId}:${count.window}`;
    try {
      const total = Number(await this.redis.eval(ADD, 1, key, n, 2 * this.windowMs));
      count.known = Math.max(count.known, total);
    } catch (err) {
      count.pending += n;
      throw err;
    }
  }
}
