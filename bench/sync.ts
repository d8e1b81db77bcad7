// npm run bench:sync -- [--conversations N] [--changed K]: what a reconnecting client pays to
// catch up, for a user in N conversations of which K changed while it was away (half got a
// message, half an edit), through one gateway node process:
// - walk: the per-conversation catch-up of clients before `sync` (for each conversation, the
//   overlap anchor, history:since and changes:since), sequential as the client runs it;
// - sync: the client library after a reconnection: one `sync`, then only the changed ones.
// Requests are counted from the node's chat_requests_total.
import { randomUUID } from "node:crypto";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Socket } from "socket.io-client";
import { ChatClient } from "../shared/client/index.js";
import { minMessageIdAt, messageIdTime } from "../shared/message-id.js";
import type { ClientToServerEvents, Message, ServerToClientEvents } from "../shared/protocol.js";
import { emitRequest } from "../shared/request.js";
import { tokenFor } from "./gateway-target.js";
import { ensureKeyspace } from "./keyspace.js";
import { startNodes, stopNodes } from "./nodes.js";
import { pool } from "./pool.js";
import { machine, table, writeJson } from "./report.js";
import { round } from "./stats.js";
import { openSocket } from "./target.js";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    conversations: { type: "string", default: "500" },
    changed: { type: "string", default: "5" },
    keyspace: { type: "string", default: "chat_bench" },
    json: { type: "string" },
  },
});
const total = Number(values.conversations);
const changed = Number(values.changed);
const OVERLAP_MS = 30_000;

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

async function call<E extends keyof ClientToServerEvents>(
  socket: Client,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
) {
  const answer = await emitRequest(socket, event, payload, 30_000);
  if (!answer.ok) throw new Error(`${event}: ${JSON.stringify(answer.error)}`);
  return answer as Extract<typeof answer, { ok: true }>;
}

/** The node's answered requests, all events together. */
async function requestsAnswered(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith("chat_requests_total{"))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}

/** The catch-up of clients before sync: every conversation, one after the other. */
async function walk(socket: Client, cursors: Map<string, string>) {
  for (const [conversationId, newest] of cursors) {
    const before = minMessageIdAt(messageIdTime(newest) - OVERLAP_MS);
    const anchor = await call(socket, "history:fetch", { conversationId, before, limit: 1 });
    const after = anchor.messages[0]?.messageId;
    if (after) await call(socket, "history:since", { conversationId, after, limit: 100 });
    else await call(socket, "history:fetch", { conversationId, limit: 100 });
    await call(socket, "changes:since", { conversationId, after: before, limit: 100 });
  }
}

await ensureKeyspace(values.keyspace);
const loadStart = os.loadavg().map((x) => round(x));
const [node] = await startNodes("gateway", 1, { CASSANDRA_KEYSPACE: values.keyspace });
const url = node?.url ?? "";
const [me, peer] = [randomUUID(), randomUUID()];
let result: Record<string, { requests: number; ms: number }>;
try {
  const theirs = await openSocket<Client>(url, { token: tokenFor(peer) });
  const seedStarted = performance.now();
  const conversations: string[] = [];
  const firsts = new Map<string, Message>();
  await pool(total, 32, async () => {
    const { conversation } = await call(theirs, "conversation:create", { participantIds: [me] });
    const { conversationId } = conversation;
    conversations.push(conversationId);
    const { message } = await call(theirs, "message:send", {
      conversationId,
      clientMsgId: randomUUID(),
      content: "hello",
    });
    firsts.set(conversationId, message);
  });
  const seedSeconds = round((performance.now() - seedStarted) / 1000, 1);

  // A sync position starts 30 s back (the overlap): let the seeding fall behind it, as a real
  // inbox's history does, or every conversation would count as changed.
  await new Promise((r) => setTimeout(r, OVERLAP_MS + 1000));
  const client = new ChatClient({ url, token: () => tokenFor(me) });
  let synced = 0;
  client.on("synced", () => synced++);
  const until = async (check: () => boolean) => {
    while (!check()) await new Promise((r) => setTimeout(r, 5));
  };
  await client.connect();
  // Tracks every conversation, as a client that listed its inbox does.
  let cursor: string | undefined;
  do {
    const page = await client.request("conversations:list", { limit: 100, cursor });
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  await until(() => synced >= 1);

  // What changes while the client is away.
  client.socket.io.engine.close();
  await until(() => client.status === "reconnecting");
  for (const [i, conversationId] of conversations.slice(0, changed).entries()) {
    if (i % 2 === 0) {
      await call(theirs, "message:send", {
        conversationId,
        clientMsgId: randomUUID(),
        content: "new",
      });
    } else {
      const m = firsts.get(conversationId)!;
      await call(theirs, "message:edit", {
        conversationId,
        messageId: m.messageId,
        content: "edited",
      });
    }
  }
  const beforeSync = await requestsAnswered(url);
  const syncStarted = performance.now();
  const target = synced + 1;
  await until(() => synced >= target);
  const syncMs = round(performance.now() - syncStarted);
  // The reconnection's catch-up also includes the handshake: measured from the drop's return.
  const syncRequests = (await requestsAnswered(url)) - beforeSync;
  client.close();

  const mine = await openSocket<Client>(url, { token: tokenFor(me) });
  const cursors = new Map([...firsts].map(([id, m]) => [id, m.messageId]));
  const beforeWalk = await requestsAnswered(url);
  const walkStarted = performance.now();
  await walk(mine, cursors);
  const walkMs = round(performance.now() - walkStarted);
  const walkRequests = (await requestsAnswered(url)) - beforeWalk;
  mine.close();
  theirs.close();
  result = {
    walk: { requests: walkRequests, ms: walkMs },
    sync: { requests: syncRequests, ms: syncMs },
  };
  console.log(
    table(`catch-up after a reconnection: ${total} conversations, ${changed} changed`, [
      ["seeded", `${total} conversations in ${seedSeconds} s`],
      ["walk (before sync)", `${walkRequests} requests, ${walkMs} ms`],
      ["sync (client library)", `${syncRequests} requests, ${syncMs} ms`],
      [
        "sync / walk",
        `${round(syncRequests / walkRequests, 3)} of the requests, ${round(syncMs / walkMs, 3)} of the time`,
      ],
      ["machine", `${os.cpus().length} cpus, load ${loadStart.join(" ")}`],
    ]),
  );
} finally {
  await stopNodes(node ? [node] : []);
}
await writeJson("sync", { machine: machine(), total, changed, result }, values.json ?? null);
