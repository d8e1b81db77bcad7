// A socket's session: it ends at its token's `exp`, is warned with `session:expiring` before,
// and `auth:refresh` with a new token of the same user moves both (and stores its name).
import type { Identity } from "../auth/token-verifier.js";
import { AuthRefusal, unauthorized } from "../errors.js";
import type { Metrics } from "../http/metrics.js";
import { disconnect } from "./close.js";
import type { GatewaySocket } from "./types.js";

const MAX_TIMER_MS = 2_147_483_647;

export type Session = {
  /** Verifies `token` and moves the expiry to its `exp`; throws UNAUTHORIZED and moves nothing. */
  refresh(token: string): Promise<{ expiresAt: string }>;
};

/**
 * When to send `session:expiring`: `expiringMs` before `exp`, or halfway there when less than
 * twice that is left, so a client handed short tokens refreshes at a bounded pace, not in a loop.
 */
export function warningTime(expiresAt: number, now: number, expiringMs: number): number {
  return expiresAt - Math.min(expiringMs, Math.max(0, expiresAt - now) / 2);
}

/** Calls `fire` at time `at` (at once if it has passed); the result cancels it. */
function at(time: number, fire: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const wait = () => {
    const left = time - Date.now();
    if (left <= 0) return fire();
    // setTimeout takes at most about 24.8 days; a longer token waits in steps.
    timer = setTimeout(wait, Math.min(left, MAX_TIMER_MS));
  };
  wait();
  return () => clearTimeout(timer);
}

export function watchSession(
  socket: GatewaySocket,
  deps: {
    verify: (token: string) => Identity;
    /** Keeps the user's display name from an accepted token. */
    remember: (identity: Identity) => Promise<void>;
    expiringMs: number;
    metrics: Metrics;
  },
): Session {
  let cancel: (() => void)[] = [];
  const arm = () => {
    cancel.forEach((c) => c());
    const expiresAt = socket.data.tokenExpiresAt;
    const warnAt = warningTime(expiresAt, Date.now(), deps.expiringMs);
    cancel = [];
    // No warning for a token already past `exp` (accepted within the clock tolerance).
    if (deps.expiringMs > 0 && warnAt < expiresAt) {
      const warn = () =>
        socket.emit("session:expiring", { expiresAt: new Date(expiresAt).toISOString() });
      cancel.push(at(warnAt, warn));
    }
    cancel.push(at(expiresAt, () => disconnect(socket, "tokenExpired", deps.metrics)));
  };
  socket.on("disconnect", () => cancel.forEach((c) => c()));
  arm();

  return {
    async refresh(token) {
      let identity: Identity;
      try {
        identity = deps.verify(token);
      } catch (err) {
        throw err instanceof AuthRefusal ? unauthorized(err.message) : err;
      }
      // The same user only: a refresh must not turn a socket into someone else's.
      if (identity.userId !== socket.data.userId) {
        throw unauthorized("token refused: it is for another user");
      }
      // Within the clock tolerance the verifier accepts a token just past `exp`; as the new
      // expiry it would end the session at once, so it is refused and the old one kept.
      if (identity.expiresAt <= Date.now()) throw unauthorized("token refused: expired");
      socket.data.tokenExpiresAt = identity.expiresAt;
      arm();
      await deps.remember(identity);
      return { expiresAt: new Date(identity.expiresAt).toISOString() };
    },
  };
}
