// The abuse limits as one seam: the transport asks, the limits answer or throw RATE_LIMITED.
import type { LimitsConfig } from "../config.js";
import type { RedisClient } from "../fanout/redis.js";
import type { Logger } from "../logger.js";
import { clientAddress, createHandshakeRateLimit } from "./handshake-rate.js";
import type { RequestEvent } from "../../shared/protocol.js";
import { createRequestBudgets } from "./request-budget.js";
import { createSocketLimit } from "./socket-count.js";

export type Limits = {
  /** Counts one handshake from the client of `handshake`. */
  handshake(handshake: Parameters<typeof clientAddress>[0]): Promise<void>;
  /** Refuses a new socket for a user who holds the maximum already. */
  socket(userId: string): Promise<void>;
  /** Requests one socket may have running at once. */
  maxInFlight: number;
  /** Counts one request of the user against the budget of its kind. */
  request(event: RequestEvent, userId: string): Promise<void>;
  /** Hands the counts kept in the background to Redis; for a stopping node. */
  stop(): Promise<void>;
};

export function createLimits(
  cfg: LimitsConfig,
  deps: { redis: RedisClient; countSockets: (userId: string) => Promise<number>; log: Logger },
): Limits {
  const handshakeRate = createHandshakeRateLimit(cfg.handshakesPerIpPerS);
  const budgets = createRequestBudgets(cfg, deps.redis, deps.log);
  return {
    handshake: (handshake) => handshakeRate(clientAddress(handshake, cfg.trustProxy)),
    socket: createSocketLimit(cfg.maxSocketsPerUser, deps.countSockets, deps.log),
    maxInFlight: cfg.maxInFlight,
    request: (event, userId) => budgets.take(event, userId),
    stop: () => budgets.stop(),
  };
}
