import { v1, v4, v5 } from "uuid";
import { messageIdTicks, messageIdTime } from "../../shared/message-id.js";

// Direct conversation ids are derived from the pair, so both users get the same id whoever opens
// it first, with no lookup table to race on.
const DIRECT_NAMESPACE = "5b0e3c1e-6f0a-4d8e-9a57-3c2f4a1d9e21";

export function canonicalPair(a: string, b: string): readonly [string, string] {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x < y ? [x, y] : [y, x];
}

export function directConversationId(a: string, b: string): string {
  return v5(canonicalPair(a, b).join(":"), DIRECT_NAMESPACE);
}

export const newGroupId = (): string => v4();
export const newMessageId = (): string => v1();

/** The write timestamp (microseconds) that lets the newest message win a concurrent update. */
export const writeMicros = (messageId: string): number => Number(messageIdTicks(messageId) / 10n);

/** The start of the fixed-size time window holding `ms`. */
export const windowStart = (ms: number, size: number): Date =>
  new Date(Math.floor(ms / size) * size);

/** The bucket of a conversation that holds the message (and its reactions). */
export const bucketOf = (c: { bucketMs: number }, messageId: string): Date =>
  windowStart(messageIdTime(messageId), c.bucketMs);
