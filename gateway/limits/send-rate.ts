// The per-user send rate, counted in Redis so every node draws on the same allowance.
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { LimitsConfig } from "../config.js";
import { rateLimited } from "../errors.js";
import type { RedisClient } from "../fanout/redis.js";
import type { Logger } from "../logger.js";

export function createSendRateLimit(
  redis: RedisClient,
  cfg: LimitsConfig["sendRate"],
  log: Logger,
): (userId: string) => Promise<void> {
  const window = { points: cfg.points, duration: cfg.windowS };
  const limiter = new RateLimiterRedis({
    ...window,
    storeClient: redis,
    keyPrefix: "chat:send-rate",
    // While Redis is unreachable each node counts alone rather than refusing every send.
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory(window),
  });
  return async (userId) => {
    try {
      await limiter.consume(userId);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw rateLimited(Math.max(1, res.msBeforeNext));
      log.warn({ err: res }, "send rate not checked");
    }
  };
}
