// Errors are values with the contract's codes, built here and turned into answers in one place.
import type { ErrorCode, Failure } from "../shared/protocol.js";
import type { Logger } from "./logger.js";

export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "GatewayError";
  }
}

export const badRequest = (message: string) => new GatewayError("BAD_REQUEST", message);
export const forbidden = (message = "not a participant of this conversation") =>
  new GatewayError("FORBIDDEN", message);
export const notFound = (message: string) => new GatewayError("NOT_FOUND", message);
export const unavailable = (message = "storage cannot accept the request now; retry later") =>
  new GatewayError("UNAVAILABLE", message);
export const rateLimited = (retryAfterMs: number) =>
  new GatewayError("RATE_LIMITED", `too many requests; retry in ${retryAfterMs} ms`, retryAfterMs);
export const payloadTooLarge = (message: string) => new GatewayError("PAYLOAD_TOO_LARGE", message);

/** The answer a client gets for any error; unexpected ones are logged and hidden. */
export function toFailure(err: unknown, log: Logger): Failure {
  if (err instanceof GatewayError) {
    if (err.code === "UNAVAILABLE" && err.cause)
      log.warn({ err: err.cause }, "storage unavailable");
    const error = { code: err.code, message: err.message };
    return {
      ok: false,
      error: err.retryAfterMs === undefined ? error : { ...error, retryAfterMs: err.retryAfterMs },
    };
  }
  log.error({ err }, "unexpected error");
  return { ok: false, error: { code: "INTERNAL", message: "internal error" } };
}
