// npm run bench:list -- [--entries N] [--flood G] [--unread U] [--requests R]: `conversations:list` latency
// through a gateway node for three inboxes:
// - over time: N conversations created and active over N/10 hours (about 10 per inbox slot),
//   written through the gateway's own ConversationService (its inbox write path);
// - flood: G groups that include the victim, created through the gateway as fast as one
//   attacker's socket can (64 in flight), all in one inbox slot;
// - unread: U groups with 5 messages each sent through the gateway, half read up to the 2nd,
//   so every listed conversation's unread count reads real message rows.
// Each inbox is listed R times with {limit: 1} and R times with {limit: 50} (first pages), and
// walked whole with {limit: 50}.
import { randomUUID } from "node:crypto";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Socket } from "socket.io-client";
import { v1 } from "uuid";
import { createLogger } from "../gateway/logger.js";
import { ConversationService } from "../gateway/services/conversation-service.js";
import { NameService } from "../gateway/services/name-service.js";
import type { FanOut } from "../gateway/services/ports.js";
import { MessageRepository } from "../gateway/storage/message-repository.js";
import { UserRepository } from "../gateway/storage/user-repository.js";
import { ConversationRepository } from "../gateway/storage/conversation-repository.js";
import type {
  ClientToServerEvents,
  RequestEvent,
  RequestPayload,
  RequestResult,
  ServerToClientEvents,
} from "../shared/protocol.js";
import { emitRequest } from "../shared/request.js";
import { tokenFor } from "./gateway-target.js";
import { benchConfig, openBenchDb } from "./keyspace.js";
import { startNodes, stopNodes } from "./nodes.js";
import { pool } from "./pool.js";
import { machine, table, writeJson } from "./report.js";
import { round, Samples, Tally } from "./stats.js";
import { ACK_TIMEOUT_MS, openSocket } from "./target.js";

const HOUR_MS = 3_600_000;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    entries: { type: "string", default: "10000" },
    flood: { type: "string", default: "2000" },
    requests: { type: "string", default: "500" },
    unread: { type: "string", default: "200" },
    keyspace: { type: "string", default: "chat_bench" },
    json: { type: "string" },
  },
});
const entries = Number(values.entries);
const floodSize = Number(values.flood);
const requests = Number(values.requests);
const unreadSize = Number(values.unread);
/** Messages per conversation of the unread inbox; half of them are read up to the second. */
const UNREAD_MESSAGES = 5;
const keyspace = values.keyspace;

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const noFanOut: FanOut = {
  messageNew: () => undefined,
  receipt: () => undefined,
  typing: () => undefined,
  conversationNew: () => undefined,
  notify: () => undefined,
  conversationChanged: async () => undefined,
  onConversationChanged: () => undefined,
};

/** N groups of the user and one peer, created and then active over N/10 hours, newest now. */
async function seedOverTime(userId: string): Promise<number> {
  const db = await openBenchDb(keyspace);
  const started = performance.now();
  try {
    const repo = new ConversationRepository(db);
    const { storage } = benchConfig(keyspace);
    const service = new ConversationService({
      repo,
      messageRows: new MessageRepository(db),
      fanOut: noFanOut,
      names: new NameService({
        repo: new UserRepository(db),
        cacheMs: 0,
        log: createLogger("warn", "seed"),
      }),
      opts: storage,
      log: createLogger("warn", "seed"),
    });
    const now = Date.now();
    const peerId = randomUUID();
    await pool(entries, 64, async (i) => {
      const createdAt = new Date(now - (entries - i) * (HOUR_MS / 10));
      const record = {
        conversationId: randomUUID(),
        kind: "group" as const,
        participantIds: [userId, peerId].sort(),
        bucketMs: storage.messageBucketMs,
        createdAt,
        lastUpdated: createdAt,
        lastMessage: null,
      };
      await repo.createIfAbsent(record);
      await repo.addInboxRows(service.inboxEntry(record, createdAt.getTime(), "created")!);
      // Two of three get a message some minutes later, as a send would write it.
      if (i % 3 === 0) return;
      const sentAt = new Date(createdAt.getTime() + (i % 7) * 7 * 60_000);
      const messageId = v1({ msecs: sentAt.getTime(), nsecs: i % 10_000 });
      const last = repo.lastMessage(record.conversationId, {
        messageId,
        senderId: peerId,
        content: `m${i}`,
        sentAt: sentAt.toISOString(),
      });
      await Promise.all([
        repo.addInboxRows(service.inboxEntry(record, sentAt.getTime(), "message")!),
        db.execute(last.query, last.params),
      ]);
    });
  } finally {
    await db.client.shutdown();
  }
  return round((performance.now() - started) / 1000, 1);
}

async function flood(attacker: Client, victimId: string): Promise<number> {
  const started = performance.now();
  const errors = new Tally();
  await pool(floodSize, 64, async () => {
    const answer = await attacker
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck("conversation:create", { participantIds: [victimId] });
    if (!answer.ok) errors.add(answer.error.code);
  });
  if (Object.keys(errors.counts).length > 0) {
    throw new Error(`flood refused: ${JSON.stringify(errors.counts)}`);
  }
  return round((performance.now() - started) / 1000, 1);
}

/**
 * U groups of the reader and a peer, each with UNREAD_MESSAGES messages from the peer sent through
 * the gateway (so unread counts read real message rows); half read up to the second message.
 */
async function seedUnread(peer: Client, readerSocket: Client, readerId: string): Promise<number> {
  const started = performance.now();
  const ask = async <E extends RequestEvent>(
    socket: Client,
    event: E,
    payload: RequestPayload<E>,
  ) => {
    const answer = await emitRequest(socket, event, payload, ACK_TIMEOUT_MS);
    if (!answer.ok) throw new Error(`${event}: ${JSON.stringify(answer.error)}`);
    return answer as RequestResult<E>;
  };
  await pool(unreadSize, 32, async (i) => {
    const created = await ask(peer, "conversation:create", { participantIds: [readerId] });
    const { conversationId } = created.conversation;
    const ids: string[] = [];
    for (let m = 0; m < UNREAD_MESSAGES; m++) {
      const sent = await ask(peer, "message:send", {
        conversationId,
        clientMsgId: randomUUID(),
        content: `m${m}`,
      });
      ids.push(sent.message.messageId);
    }
    if (i % 2 === 0)
      await ask(readerSocket, "message:read", { conversationId, messageId: ids[1]! });
  });
  return round((performance.now() - started) / 1000, 1);
}

type Listing = {
  first1: ReturnType<Samples["summary"]>;
  first50: ReturnType<Samples["summary"]>;
  walk: { pages: number; conversations: number; ms: number; pageP99: number };
  errors: Record<string, number>;
};

async function listing(client: Client, expected: number): Promise<Listing> {
  const errors = new Tally();
  const list = async (limit: number, cursor?: string) => {
    const started = performance.now();
    const answer = await client
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck("conversations:list", { limit, ...(cursor ? { cursor } : {}) })
      .catch(() => null);
    const ms = performance.now() - started;
    if (!answer) errors.add("ACK_TIMEOUT");
    else if (!answer.ok) errors.add(answer.error.code);
    return { ms, answer: answer?.ok ? answer : null };
  };
  for (let i = 0; i < 20; i++) await list(1); // warm-up: prepared statements, caches
  const first1 = new Samples();
  const first50 = new Samples();
  for (let i = 0; i < requests; i++) first1.add((await list(1)).ms);
  for (let i = 0; i < requests; i++) first50.add((await list(50)).ms);
  const pages = new Samples();
  const seen = new Set<string>();
  let cursor: string | undefined;
  const walkStarted = performance.now();
  do {
    const { ms, answer } = await list(50, cursor);
    pages.add(ms);
    for (const c of answer?.conversations ?? []) seen.add(c.conversationId);
    cursor = answer?.nextCursor ?? undefined;
  } while (cursor);
  if (seen.size !== expected) errors.add(`WALK_SAW_${seen.size}_OF_${expected}`);
  return {
    first1: first1.summary(),
    first50: first50.summary(),
    walk: {
      pages: pages.summary().count,
      conversations: seen.size,
      ms: round(performance.now() - walkStarted),
      pageP99: pages.summary().p99,
    },
    errors: errors.counts,
  };
}

const loadStart = os.loadavg().map((x) => round(x));
const [reader, victim, attackerId] = [randomUUID(), randomUUID(), randomUUID()];
const seedSeconds = await seedOverTime(reader);
const [node] = await startNodes("gateway", 1, { CASSANDRA_KEYSPACE: keyspace });
let overTime: Listing;
let flooded: Listing;
let floodSeconds: number;
let unread: Listing;
let unreadSeconds: number;
try {
  const url = node?.url ?? "";
  const readerSocket = await openSocket<Client>(url, { token: tokenFor(reader) });
  overTime = await listing(readerSocket, entries);
  readerSocket.close();
  const attacker = await openSocket<Client>(url, { token: tokenFor(attackerId) });
  floodSeconds = await flood(attacker, victim);
  attacker.close();
  const victimSocket = await openSocket<Client>(url, { token: tokenFor(victim) });
  flooded = await listing(victimSocket, floodSize);
  victimSocket.close();
  const [unreadReader, unreadPeer] = [randomUUID(), randomUUID()];
  const peerSocket = await openSocket<Client>(url, { token: tokenFor(unreadPeer) });
  const unreadSocket = await openSocket<Client>(url, { token: tokenFor(unreadReader) });
  unreadSeconds = await seedUnread(peerSocket, unreadSocket, unreadReader);
  unread = await listing(unreadSocket, unreadSize);
  peerSocket.close();
  unreadSocket.close();
} finally {
  await stopNodes(node ? [node] : []);
}

const loadEnd = os.loadavg().map((x) => round(x));
const row = (l: ReturnType<Samples["summary"]>) =>
  `p50 ${l.p50}  p95 ${l.p95}  p99 ${l.p99}  max ${l.max} ms (n=${l.count})`;
const walkRow = (l: Listing) =>
  `${l.walk.conversations} conversations in ${l.walk.pages} pages, ${l.walk.ms} ms (page p99 ${l.walk.pageP99} ms)`;
console.log(
  table("conversations:list", [
    [`over time: ${entries} entries`, `seeded in ${seedSeconds} s, ~10 per slot`],
    ["  {limit: 1}", row(overTime.first1)],
    ["  {limit: 50}", row(overTime.first50)],
    ["  whole walk, limit 50", walkRow(overTime)],
    ["  errors", JSON.stringify(overTime.errors)],
    [`flood: ${floodSize} groups`, `created in ${floodSeconds} s, one slot`],
    ["  {limit: 1}", row(flooded.first1)],
    ["  {limit: 50}", row(flooded.first50)],
    ["  whole walk, limit 50", walkRow(flooded)],
    ["  errors", JSON.stringify(flooded.errors)],
    [
      `unread: ${unreadSize} groups`,
      `${UNREAD_MESSAGES} messages each, half read up to the 2nd; seeded in ${unreadSeconds} s`,
    ],
    ["  {limit: 1}", row(unread.first1)],
    ["  {limit: 50}", row(unread.first50)],
    ["  whole walk, limit 50", walkRow(unread)],
    ["  errors", JSON.stringify(unread.errors)],
    ["load average", `${loadStart.join(" ")} -> ${loadEnd.join(" ")}`],
    ["machine", JSON.stringify(machine())],
  ]),
);
const result = {
  entries,
  floodSize,
  requests,
  seedSeconds,
  floodSeconds,
  overTime,
  flooded,
  unreadSize,
  unreadSeconds,
  unread,
};
console.log(`result: ${await writeJson("list", result, values.json ?? null)}`);
