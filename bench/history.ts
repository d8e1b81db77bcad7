// npm run bench:history -- [--messages N] [--days D] [--pages P]: one conversation holding N
// messages spread over D days, then 50-message history:fetch pages at random points, through a
// gateway node. The seeded conversation is remembered in bench/results and reused.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Socket } from "socket.io-client";
import { v1 } from "uuid";
import { windowStart } from "../gateway/services/ids.js";
import { ConversationRepository } from "../gateway/storage/conversation-repository.js";
import { MessageRepository } from "../gateway/storage/message-repository.js";
import type { ClientToServerEvents, ServerToClientEvents } from "../shared/protocol.js";
import { tokenFor } from "./gateway-target.js";
import { openBenchDb } from "./keyspace.js";
import { RESULTS_DIR, startNodes, stopNodes } from "./nodes.js";
import { pool } from "./pool.js";
import { machine, table, writeJson } from "./report.js";
import { round, Samples, Tally } from "./stats.js";
import { ACK_TIMEOUT_MS, openSocket } from "./target.js";

const BUCKET_MS = 86_400_000;
const PAGE = 50;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    messages: { type: "string", default: "1000000" },
    days: { type: "string", default: "365" },
    pages: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "256" },
    keyspace: { type: "string", default: "chat_bench" },
    reseed: { type: "boolean", default: false },
    json: { type: "string" },
  },
});
const count = Number(values.messages);
const days = Number(values.days);
const pages = Number(values.pages);
const keyspace = values.keyspace;

type Seeded = { conversationId: string; userId: string; firstMs: number; lastMs: number };
const seedFile = path.join(RESULTS_DIR, `history-seed-${keyspace}-${count}-${days}.json`);

async function seed(): Promise<{ seeded: Seeded; seconds: number | null }> {
  const db = await openBenchDb(keyspace);
  try {
    const conversations = new ConversationRepository(db);
    if (!values.reseed) {
      const known = await readFile(seedFile, "utf8").then(
        (text) => JSON.parse(text) as Seeded,
        () => null,
      );
      if (known && (await conversations.get(known.conversationId))) {
        return { seeded: known, seconds: null };
      }
    }
    const messages = new MessageRepository(db);
    const userId = randomUUID();
    const peerId = randomUUID();
    const conversationId = randomUUID();
    const lastMs = Date.now() - 60_000;
    const firstMs = lastMs - days * BUCKET_MS;
    const step = (lastMs - firstMs) / count;
    const started = performance.now();
    await conversations.createIfAbsent({
      conversationId,
      kind: "group",
      participantIds: [userId, peerId].sort(),
      bucketMs: BUCKET_MS,
      createdAt: new Date(firstMs),
      lastUpdated: new Date(firstMs),
      lastMessage: null,
    });
    for (let b = windowStart(firstMs, BUCKET_MS).getTime(); b <= lastMs; b += BUCKET_MS) {
      await messages.addBucket(conversationId, new Date(b));
    }
    let done = 0;
    await pool(count, Number(values.concurrency), async (i) => {
      const ms = Math.floor(firstMs + i * step);
      const messageId = v1({ msecs: ms, nsecs: i % 10_000 });
      await messages.insert(
        {
          conversationId,
          messageId,
          senderId: i % 2 ? userId : peerId,
          clientMsgId: `h${i}`,
          content: `message ${i}`,
          sentAt: new Date(ms).toISOString(),
        },
        windowStart(ms, BUCKET_MS),
      );
      if (++done % 50_000 === 0) process.stderr.write(`seeded ${done} of ${count}\n`);
    });
    const seeded = { conversationId, userId, firstMs, lastMs };
    await writeJson("history-seed", seeded, seedFile);
    return { seeded, seconds: round((performance.now() - started) / 1000, 1) };
  } finally {
    await db.client.shutdown();
  }
}

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const loadStart = os.loadavg().map((x) => round(x));
const { seeded, seconds } = await seed();
const [node] = await startNodes("gateway", 1, { CASSANDRA_KEYSPACE: keyspace });
const samples = new Samples();
const errors = new Tally();
try {
  const client = await openSocket<Client>(node?.url ?? "", { token: tokenFor(seeded.userId) });
  const span = seeded.lastMs - seeded.firstMs;
  // Warm the node's conversation cache and prepared statements before timing.
  for (let i = 0; i < 20; i++) {
    await client.timeout(ACK_TIMEOUT_MS).emitWithAck("history:fetch", {
      conversationId: seeded.conversationId,
    });
  }
  for (let i = 0; i < pages; i++) {
    const before = new Date(seeded.firstMs + span * 0.01 + Math.random() * span * 0.99);
    const started = performance.now();
    try {
      const answer = await client.timeout(ACK_TIMEOUT_MS).emitWithAck("history:fetch", {
        conversationId: seeded.conversationId,
        limit: PAGE,
        before: before.toISOString(),
      });
      samples.add(performance.now() - started);
      if (!answer.ok) errors.add(answer.error.code);
      else if (answer.messages.length !== PAGE) errors.add("SHORT_PAGE");
    } catch {
      errors.add("ACK_TIMEOUT");
    }
  }
  client.close();
} finally {
  await stopNodes(node ? [node] : []);
}

const s = samples.summary();
const result = {
  messages: count,
  days,
  seedSeconds: seconds,
  pages,
  latencyMs: s,
  errors: errors.counts,
  loadAverage: { start: loadStart, end: os.loadavg().map((x) => round(x)) },
};
console.log(
  table(`history: ${PAGE}-message pages at random points of ${count} messages over ${days} days`, [
    ["seeding", seconds === null ? "reused an earlier seed" : `${seconds} s`],
    ["pages", `${s.count}, errors ${JSON.stringify(errors.counts)}`],
    ["latency (ms)", `p50 ${s.p50}  p95 ${s.p95}  p99 ${s.p99}  max ${s.max}`],
    [
      "load average",
      `${result.loadAverage.start.join(" ")} -> ${result.loadAverage.end.join(" ")}`,
    ],
    ["machine", JSON.stringify(machine())],
  ]),
);
console.log(`result: ${await writeJson("history", result, values.json ?? null)}`);
