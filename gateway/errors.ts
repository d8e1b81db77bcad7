// Every error the gateway raises on purpose: request errors with the protocol's codes (turned
// into answers by toFailure, the one place that does), handshake refusals, and the failures that
// stop a starting process with one clear line.
import type { AuthRefusalReason, ErrorCode, Failure } from "../shared/protocol.js";
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

/** A failure that stops the process with one clear line instead of a stack dump. */
export class StartupError extends Error {
  override name = "StartupError";
}

export class ConfigError extends StartupError {
  override name = "ConfigError";
}

export class MigrationError extends StartupError {
  override name = "MigrationError";
}

/** A token the handshake refuses, with the reason the client is told. */
export class AuthRefusal extends Error {
  override name = "AuthRefusal";
  constructor(readonly reason: AuthRefusalReason) {
    super(`token refused: ${reason}`);
  }
}

export const badRequest = (message: string) => new GatewayError("BAD_REQUEST", message);
export const unauthorized = (message: string) => new GatewayError("UNAUTHORIZED", message);
export const forbidden = (message: string) => new GatewayError("FORBIDDEN", message);
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
