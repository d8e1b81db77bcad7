// The sockets a user may hold on all nodes together.
import { GatewayError } from "../errors.js";
import type { Logger } from "../logger.js";

/**
 * `countSockets` asks every node (through the Socket.IO adapter) how many sockets the user has,
 * so nothing is stored that a crashed node could leave behind. Handshakes of one user that run
 * at the same moment may each see the count below the limit: the limit is soft by that much.
 */
export function createSocketLimit(
  max: number,
  countSockets: (userId: string) => Promise<number>,
  log: Logger,
): (userId: string) => Promise<void> {
  return async (userId) => {
    let count: number;
    try {
      count = await countSockets(userId);
    } catch (err) {
      // A node that does not answer in time must not lock its users out everywhere.
      log.warn({ err }, "sockets per user not counted");
      return;
    }
    if (count >= max) {
      throw new GatewayError("RATE_LIMITED", `at most ${max} connections per user`);
    }
  };
}
