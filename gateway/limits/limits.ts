// The abuse limits as one seam: the transport asks, the limits answer or throw RATE_LIMITED.
import type { LimitsConfig } from "../config.js";
import type { RedisClient } from "../fanout/redis.js";
import type { Logger } from "../logger.js";
import { clientAddress, createHandshakeRateLimit } from "./handshake-rate.js";
import { createSendRateLimit } from "./send-rate.js";
import { createSocketLimit } from "./socket-count.js";

export type Limits = {
  /** Counts one handshake from the client of `handshake`. */
  handshake(handshake: Parameters<typeof clientAddress>[0]): Promise<void>;
  /** Refuses a new socket for a user who holds the maximum already. */
  socket(userId: string): Promise<void>;
  /** Counts one message:send of the user. */
  send(userId: string): Promise<void>;
};

export function createLimits(
  cfg: LimitsConfig,
  deps: { redis: RedisClient; countSockets: (userId: string) => Promise<number>; log: Logger },
): Limits {
  const handshakeRate = createHandshakeRateLimit(cfg.handshakesPerIpPerS);
  return {
    handshake: (handshake) => handshakeRate(clientAddress(handshake, cfg.trustProxy)),
    socket: createSocketLimit(cfg.maxSocketsPerUser, deps.countSockets, deps.log),
    send: createSendRateLimit(deps.redis, cfg.sendRate, deps.log),
  };
}
