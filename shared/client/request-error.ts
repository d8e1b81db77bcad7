import type { ErrorBody, ErrorCode } from "../protocol.js";

/**
 * The gateway's error codes plus the two a client finds out by itself: no answer in time
 * (`TIMEOUT`) and the connection dropped or was closed before the answer (`DISCONNECTED`).
 */
export type ClientErrorCode = ErrorCode | "TIMEOUT" | "DISCONNECTED";

/** Codes after which the same request may succeed later; the others will fail again. */
const RETRYABLE: ReadonlySet<ClientErrorCode> = new Set<ClientErrorCode>([
  "TIMEOUT",
  "DISCONNECTED",
  "UNAVAILABLE",
  "RATE_LIMITED",
  "INTERNAL",
]);

export class RequestError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "RequestError";
  }

  static fromAnswer(error: ErrorBody): RequestError {
    return new RequestError(error.code, error.message, error.retryAfterMs);
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}
