// A budget per user for each kind of request. Budgets that protect other users (sends, new
// conversations) are counted in Redis, so every node draws on the same allowance, at one Redis
// call per request; the others are counted by each node alone, at no I/O.
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

export function createRequestBudgets(
  budgets: LimitsConfig["budgets"],
  redis: RedisClient,
  log: Logger,
): (event: RequestEvent, userId: string) => Promise<void> {
  const limiters = new Map<BudgetKind, RateLimiterAbstract>();
  for (const [kind, { points, windowS }] of Object.entries(budgets) as [
    BudgetKind,
    { points: number; windowS: number },
  ][]) {
    const window = { points, duration: windowS, keyPrefix: `chat:budget:${kind}` };
    limiters.set(
      kind,
      SHARED.has(kind)
        ? new RateLimiterRedis({
            ...window,
            storeClient: redis,
            // While Redis is unreachable each node counts alone rather than refusing everything.
            rejectIfRedisNotReady: true,
            insuranceLimiter: new RateLimiterMemory(window),
          })
        : new RateLimiterMemory(window),
    );
  }
  return async (event, userId) => {
    const limiter = limiters.get(BUDGET_OF[event]);
    try {
      await limiter?.consume(userId);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw rateLimited(Math.max(1, res.msBeforeNext));
      log.warn({ err: res, event }, "request budget not checked");
    }
  };
}
