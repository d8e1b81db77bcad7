import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

// Tokens and message bodies never reach a log line, whatever object a caller passes in.
const REDACT = [
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "content",
  "*.content",
  "password",
  "*.password",
];

/** Logs JSON lines to stdout, or to `destination` (tests read them from there). */
export function createLogger(
  level: string,
  nodeId: string,
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: { node: nodeId },
    redact: { paths: REDACT, censor: "[redacted]" },
  };
  return destination ? pino(options, destination) : pino(options);
}
