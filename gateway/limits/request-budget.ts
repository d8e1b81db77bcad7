// A budget per user for each kind of request. Budgets that protect other users (sends, new
// conversations) are counted in Redis, so every node draws on the same allowance: the send budget
// by each node with a background sync (sends are the hot path; see synced-budget.ts), the others
// at one Redis call per request. The remaining kinds are counted by each node alone, at no I/O.
import type { RedisClient } from "../fanout/redis.js";
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from "rate-limiter-flexible";
import type { RequestEvent } from "../../shared/protocol.js";
import type { BudgetKind, LimitsConfig } from "../config.js";
import { rateLimited } from "../errors.js";
import type { Logger } from "../logger.js";
import { SyncedBudget } from "./synced-budget.js";

const BUDGET_OF: Record<RequestEvent, BudgetKind> = {
  "message:send": "send",
  "message:edit": "change",
  "message:delete": "change",
  "reaction:add": "change",
  "reaction:remove": "change",
  "conversation:create": "create",
  "conversation:add": "member",
  "conversation:remove": "member",
  "conversation:rename": "member",
  "conversation:leave": "member",
  "conversation:open": "open",
  "message:read": "read",
  typing: "typing",
  "history:fetch": "history",
  "history:since": "history",
  "changes:since": "history",
  "conversations:list": "list",
  sync: "list",
  "auth:refresh": "refresh",
  "presence:subscribe": "presence",
};

/** Counted across nodes: each of these reaches other users (a message, a change, a group). */
const SHARED = new Set<BudgetKind>(["send", "change", "create", "member", "open"]);

export type RequestBudgets = {
  /** Counts one request of the user against the budget of its kind; throws RATE_LIMITED. */
  take(event: RequestEvent, userId: string): Promise<void>;
  /** Hands what this node counted in the background to Redis, then stops counting. */
  stop(): Promise<void>;
};

export function createRequestBudgets(
  cfg: Pick<LimitsConfig, "budgets" | "sendSyncMs">,
  redis: RedisClient,
  log: Logger,
): RequestBudgets {
  const checks = new Map<BudgetKind, (userId: string, event: RequestEvent) => Promise<void>>();
  let synced: SyncedBudget | undefined;
  for (const [kind, { points, windowS }] of Object.entries(cfg.budgets) as [
    BudgetKind,
    { points: number; windowS: number },
  ][]) {
    const keyPrefix = `chat:budget:${kind}`;
    if (kind === "send" && cfg.sendSyncMs > 0) {
      const budget = new SyncedBudget(
        redis,
        { keyPrefix, points, windowS, syncMs: cfg.sendSyncMs },
        log,
      );
      synced = budget;
      checks.set(kind, async (userId) => {
        const waitMs = budget.take(userId);
        if (waitMs > 0) throw rateLimited(waitMs);
      });
      continue;
    }
    const window = { points, duration: windowS, keyPrefix };
    const limiter: RateLimiterAbstract = SHARED.has(kind)
      ? new RateLimiterRedis({
          ...window,
          storeClient: redis,
          // While Redis is unreachable each node counts alone rather than refusing everything.
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory(window),
        })
      : new RateLimiterMemory(window);
    checks.set(kind, async (userId, event) => {
      try {
        await limiter.consume(userId);
      } catch (res) {
        if (res instanceof RateLimiterRes) throw rateLimited(Math.max(1, res.msBeforeNext));
        log.warn({ err: res, event }, "request budget not checked");
      }
    });
  }
  return {
    take: async (event, userId) => checks.get(BUDGET_OF[event])?.(userId, event),
    async stop() {
      synced?.stop();
      await synced?.sync();
    },
  };
}
