// The storage ceiling: the writes one message needs, through the gateway's own repositories (the
// same prepared statements and consistency), as fast as Cassandra takes them, nothing else.
import { randomUUID } from "node:crypto";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { messageIdTime } from "../shared/message-id.js";
import { canonicalPair, newMessageId, windowStart, writeMicros } from "../gateway/services/ids.js";
import { ConversationRepository } from "../gateway/storage/conversation-repository.js";
import { MessageRepository } from "../gateway/storage/message-repository.js";
import type { StoredMessage } from "../gateway/storage/records.js";
import { openBenchDb } from "./keyspace.js";
import { round } from "./stats.js";

export type StorageCeiling = {
  messagesPerSecond: number;
  writesPerSecond: number;
  writesPerMessage: { direct: number; group: number };
  inflight: number;
  durationS: number;
  loadAverage: { start: number[]; end: number[] };
};

const BUCKET_MS = 86_400_000;
const WARM_UP_MS = 5_000;

export async function storageCeiling(opts: {
  keyspace: string;
  inflight: number;
  durationS: number;
  directShare: number;
  contentBytes: number;
}): Promise<StorageCeiling> {
  const loadStart = os.loadavg().map((x) => round(x));
  const db = await openBenchDb(opts.keyspace);
  const messages = new MessageRepository(db);
  const conversations = new ConversationRepository(db);
  const content = "x".repeat(opts.contentBytes);
  let count = 0;
  let writes = 0;

  // As the gateway writes a message (message-service.ts): the idempotency record, the message
  // row, the user-pair row for a direct message, the conversation's last message, the commit mark.
  const oneMessage = async () => {
    const direct = Math.random() < opts.directShare;
    const sender = randomUUID();
    const recipient = randomUUID();
    const messageId = newMessageId();
    const m: StoredMessage = {
      conversationId: randomUUID(),
      messageId,
      senderId: sender,
      clientMsgId: `c${count}`,
      content,
      sentAt: new Date(messageIdTime(messageId)).toISOString(),
      ...(direct ? { recipientId: recipient } : {}),
    };
    const bucket = windowStart(messageIdTime(messageId), BUCKET_MS);
    await Promise.all([
      messages.claimClientId(m),
      messages.insert(m, bucket),
      direct ? messages.insertForPair(canonicalPair(sender, recipient), bucket, m) : undefined,
      conversations.setLastMessage(m.conversationId, m, writeMicros(messageId)),
      messages.commitClientId(m),
    ]);
    writes += direct ? 5 : 4;
    count++;
  };

  const runFor = (ms: number) => {
    const end = performance.now() + ms;
    return Promise.all(
      Array.from({ length: opts.inflight }, async () => {
        while (performance.now() < end) await oneMessage();
      }),
    );
  };

  try {
    // Warm up the statements, the connection and Cassandra's JIT before timing, so a node that
    // has just started is not measured below what it takes once warm.
    await runFor(WARM_UP_MS);
    count = 0;
    writes = 0;
    const start = performance.now();
    await runFor(opts.durationS * 1000);
    const seconds = (performance.now() - start) / 1000;
    return {
      messagesPerSecond: round(count / seconds, 0),
      writesPerSecond: round(writes / seconds, 0),
      writesPerMessage: { direct: 5, group: 4 },
      inflight: opts.inflight,
      durationS: opts.durationS,
      loadAverage: { start: loadStart, end: os.loadavg().map((x) => round(x)) },
    };
  } finally {
    await db.client.shutdown();
  }
}
