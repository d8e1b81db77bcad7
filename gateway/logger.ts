import { pino, type Logger } from "pino";

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

export function createLogger(level: string, nodeId: string): Logger {
  return pino({ level, base: { node: nodeId }, redact: { paths: REDACT, censor: "[redacted]" } });
}
