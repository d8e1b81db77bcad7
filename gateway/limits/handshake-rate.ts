// Handshakes per client address per second, counted per node: a handshake flood costs the node
// that receives it (a JWT verification each), and the load balancer keeps an address on one node.
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { rateLimited } from "../errors.js";

export function createHandshakeRateLimit(perSecond: number): (address: string) => Promise<void> {
  const limiter = new RateLimiterMemory({ points: perSecond, duration: 1 });
  return async (address) => {
    try {
      await limiter.consume(address);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw rateLimited(Math.max(1, res.msBeforeNext));
      throw res;
    }
  };
}

/**
 * The client's address: the socket's peer, or behind our load balancer (trustProxy) the last
 * X-Forwarded-For entry, the one the balancer appended; earlier entries are the client's say-so.
 */
export function clientAddress(
  handshake: { address: string; headers: Record<string, string | string[] | undefined> },
  trustProxy: boolean,
): string {
  if (!trustProxy) return handshake.address;
  const header = handshake.headers["x-forwarded-for"];
  const last = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").pop();
  return last?.trim() || handshake.address;
}
