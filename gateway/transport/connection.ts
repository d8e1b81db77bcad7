// The handshake and a socket's life: authenticate, join the user's room, expire with the token
// (or refresh it: session.ts).
import type { ExtendedError } from "socket.io";
import type { ConnectErrorData, LimitReason } from "../../shared/protocol.js";
import type { Identity } from "../auth/token-verifier.js";
import { AuthRefusal, GatewayError } from "../errors.js";
import type { Metrics } from "../http/metrics.js";
import type { Limits } from "../limits/limits.js";
import type { Logger } from "../logger.js";
import { disconnect } from "./close.js";
import type { RequestGate } from "./request-gate.js";
import { requestHandlers, type Services } from "./request-handlers.js";
import { limitSendBuffer } from "./send-buffer.js";
import { releaseUpgradeRequests } from "./upgrade-request.js";
import { watchSession } from "./session.js";
import { userRoom, type GatewayServer, type GatewaySocket } from "./types.js";

function refuse(data: ConnectErrorData): ExtendedError {
  const err: ExtendedError = new Error(data.code);
  err.data = data;
  return err;
}

function tokenOf(socket: GatewaySocket): string | undefined {
  const auth: unknown = socket.handshake.auth;
  if (auth && typeof auth === "object" && "token" in auth && typeof auth.token === "string") {
    return auth.token || undefined;
  }
  const header = socket.handshake.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

export function attachConnections(
  io: GatewayServer,
  deps: {
    verify: (token: string) => Identity;
    isReady: () => boolean;
    limits: Limits;
    services: Services;
    gate: RequestGate;
    sendBufferLimitBytes: number;
    /** How long before `exp` a socket is sent `session:expiring`; 0: never. */
    sessionExpiringMs: number;
    metrics: Metrics;
    log: Logger;
  },
) {
  const { log, metrics, limits } = deps;
  let sendBufferPeak = 0;
  const handleRequests = requestHandlers(deps.services, { limits, metrics, log, gate: deps.gate });
  releaseUpgradeRequests(io);

  /** Runs a limit; its RATE_LIMITED becomes the handshake's refusal (null: within the limit). */
  async function within(
    reason: LimitReason,
    check: Promise<void>,
  ): Promise<ConnectErrorData | null> {
    try {
      await check;
      return null;
    } catch (err) {
      if (!(err instanceof GatewayError) || err.code !== "RATE_LIMITED") throw err;
      const { retryAfterMs } = err;
      return { code: "RATE_LIMITED", reason, ...(retryAfterMs ? { retryAfterMs } : {}) };
    }
  }

  /** Why the handshake is refused, or null when it is admitted. */
  async function admit(socket: GatewaySocket): Promise<ConnectErrorData | null> {
    if (!deps.isReady()) return { code: "UNAVAILABLE", reason: "starting" };
    // Before the token: a flood of handshakes must not cost a signature check each.
    const tooFast = await within("handshakes", limits.handshake(socket.handshake));
    if (tooFast) return tooFast;
    const token = tokenOf(socket);
    if (!token) return { code: "UNAUTHORIZED", reason: "missing" };
    let identity: Identity;
    try {
      identity = deps.verify(token);
    } catch (err) {
      if (!(err instanceof AuthRefusal)) log.error({ err }, "token verification failed");
      return { code: "UNAUTHORIZED", reason: err instanceof AuthRefusal ? err.reason : "invalid" };
    }
    const tooMany = await within("sockets", limits.socket(identity.userId));
    if (tooMany) return tooMany;
    await deps.services.names.remember(identity);
    socket.data.userId = identity.userId;
    socket.data.tokenExpiresAt = identity.expiresAt;
    return null;
  }

  io.use((socket, next) => {
    admit(socket).then(
      (refusal) => {
        if (!refusal) return next();
        metrics.handshakeRefusalsTotal.inc({ code: refusal.code, reason: refusal.reason });
        log.debug({ ...refusal, ip: socket.handshake.address }, "handshake refused");
        next(refuse(refusal));
      },
      (err: unknown) => {
        log.error({ err }, "handshake failed");
        next(refuse({ code: "UNAVAILABLE", reason: "internal" }));
      },
    );
  });

  io.on("connection", (socket) => {
    const user = socket.data.userId;
    void socket.join(userRoom(user));
    metrics.connectedSockets.inc();
    log.debug({ user, socket: socket.id }, "socket connected");
    const session = watchSession(socket, {
      verify: deps.verify,
      remember: (identity) => deps.services.names.remember(identity),
      expiringMs: deps.sessionExpiringMs,
      metrics,
    });
    limitSendBuffer(
      socket,
      deps.sendBufferLimitBytes,
      (bytes) => {
        if (bytes <= sendBufferPeak) return;
        sendBufferPeak = bytes;
        metrics.sendBufferPeakBytes.set(bytes);
      },
      (bytes) => {
        log.warn({ user, socket: socket.id, bytes }, "send buffer full; disconnecting");
        disconnect(socket, "slowConsumer", metrics);
      },
    );
    handleRequests(socket, session);
    socket.on("disconnect", (reason) => {
      metrics.connectedSockets.dec();
      log.debug({ user, socket: socket.id, reason }, "socket disconnected");
    });
  });
}
