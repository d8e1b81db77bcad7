// The storage ceiling: a send's storage work through the gateway's own code (the idempotency
// claim, MessageStore.append, the commit mark; the same statements and consistency), as fast as
// Cassandra takes it, nothing else. Conversations come from a pool, so bucket index and inbox
// rows are written once per conversation, as on a node that has sent in them before.
import { randomUUID } from "node:crypto";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { messageIdTime } from "../shared/message-id.js";
import { createLogger } from "../gateway/logger.js";
import { SendIdempotency } from "../gateway/services/idempotency.js";
import { newMessageId, windowStart } from "../gateway/services/ids.js";
import { ClientIdRepository } from "../gateway/storage/client-id-repository.js";
import { ConversationRepository } from "../gateway/storage/conversation-repository.js";
import { MessageRepository } from "../gateway/storage/message-repository.js";
import { MessageStore } from "../gateway/storage/message-store.js";
import type { StoredMessage } from "../gateway/storage/records.js";
import { openBenchDb } from "./keyspace.js";
import { watchMachineCpu } from "./machine-cpu.js";
import { round } from "./stats.js";

export type StorageCeiling = {
  messagesPerSecond: number;
  /**
   * Cassandra requests per message, each one statement: the claim's read and write, the message
   * row with its bucket index and inbox rows, the preview, the commit mark.
   */
  requestsPerMessage: number;
  /**
   * This process's CPU per message (user + system): what a send's storage work costs a gateway
   * node in the driver and the gateway's storage code, without sockets or fan-out.
   */
  cpuMsPerMessage: number;
  /** The local Cassandra's CPU per message (null where its pid file is not found). */
  cassandraCpuMsPerMessage: number | null;
  inflight: number;
  durationS: number;
  loadAverage: { start: number[]; end: number[] };
};

const BUCKET_MS = 86_400_000;
const INBOX_SLOT_MS = 3_600_000;
const CONVERSATIONS = 1_000;
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
  const clientIds = new ClientIdRepository(db);
  const idempotency = new SendIdempotency(clientIds, createLogger("warn", "storage-ceiling"));
  const store = new MessageStore(db, {
    messages: new MessageRepository(db),
    conversations: new ConversationRepository(db),
  });
  const content = "x".repeat(opts.contentBytes);
  const pool = Array.from({ length: CONVERSATIONS }, (_, i) => ({
    conversationId: randomUUID(),
    participantIds: [randomUUID(), randomUUID()],
    direct: i < CONVERSATIONS * opts.directShare,
  }));
  const written = new Set<string>();
  let count = 0;
  let requests = 0;

  const oneMessage = async () => {
    const c = pool[count % CONVERSATIONS]!;
    const [sender, recipient] = c.participantIds as [string, string];
    const messageId = newMessageId();
    const at = messageIdTime(messageId);
    const m: StoredMessage = {
      conversationId: c.conversationId,
      messageId,
      senderId: sender,
      clientMsgId: `c${count}`,
      content,
      sentAt: new Date(at).toISOString(),
      ...(c.direct ? { recipientId: recipient } : {}),
    };
    const bucket = windowStart(at, BUCKET_MS);
    const slot = windowStart(at, INBOX_SLOT_MS);
    const bucketKey = `${c.conversationId}@${bucket.getTime()}`;
    const slotKey = `${c.conversationId}@${slot.getTime()}`;
    const indexBucket = !written.has(bucketKey);
    const inbox = written.has(slotKey)
      ? null
      : {
          userIds: c.participantIds,
          row: {
            slot,
            kind: "message",
            at: new Date(at),
            conversationId: c.conversationId,
          } as const,
        };
    await idempotency.claim(m);
    await store.append({ message: m, bucket, indexBucket, inbox });
    await idempotency.commit(m);
    written.add(bucketKey).add(slotKey);
    requests += 2 + 2 + 1 + (indexBucket ? 1 : 0) + (inbox?.userIds.length ?? 0);
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
    requests = 0;
    const start = performance.now();
    const cpuBefore = process.cpuUsage();
    const endMachine = await watchMachineCpu();
    await runFor(opts.durationS * 1000);
    const { cassandraS } = await endMachine();
    const cpu = process.cpuUsage(cpuBefore);
    const seconds = (performance.now() - start) / 1000;
    return {
      messagesPerSecond: round(count / seconds, 0),
      requestsPerMessage: round(requests / Math.max(1, count), 2),
      cpuMsPerMessage: round((cpu.user + cpu.system) / 1000 / Math.max(1, count), 3),
      cassandraCpuMsPerMessage:
        cassandraS === null ? null : round((cassandraS * 1000) / Math.max(1, count), 3),
      inflight: opts.inflight,
      durationS: opts.durationS,
      loadAverage: { start: loadStart, end: os.loadavg().map((x) => round(x)) },
    };
  } finally {
    await db.client.shutdown();
  }
}
