// npm run bench:presence -- [--users 5000] [--group 40] [--layers 5] [--concurrency 500]:
// the presence storm (Rocket.Chat issue #21182) measured. Every user is in `layers` groups of
// `group` users (about layers × (group - 1) contacts each) and follows the group "on screen"
// (group - 1 users). All users then reconnect at once, three ways, and the bench counts what
// that costs: presence changes announced, `presence` events delivered, and Redis commands (a
// private redis-server, so its INFO counters see only this bench). Two gateway nodes.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import type { Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "../shared/protocol.js";
import { tokenFor } from "./gateway-target.js";
import { ensureKeyspace } from "./keyspace.js";
import { startNodes, stopNodes, type NodeProcess } from "./nodes.js";
import { pool } from "./pool.js";
import { startRedis } from "./private-redis.js";
import { machine, table, writeJson } from "./report.js";
import { round } from "./stats.js";
import { ACK_TIMEOUT_MS, openSocket } from "./target.js";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    users: { type: "string", default: "5000" },
    group: { type: "string", default: "40" },
    layers: { type: "string", default: "5" },
    concurrency: { type: "string", default: "500" },
    keyspace: { type: "string", default: "chat_bench" },
    json: { type: "string" },
  },
});
const USERS = Number(values.users);
const GROUP = Number(values.group);
const LAYERS = Number(values.layers);
const CONCURRENCY = Number(values.concurrency);
const HEARTBEAT_S = 5;
const TTL_S = 15;
const GRACE_MS = 2000;

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
type Redis = Awaited<ReturnType<typeof startRedis>>["client"];

/** A deterministic shuffle (a linear congruential generator), so every run has the same groups. */
function shuffled(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let x = seed;
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const j = x % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Every layer splits the users into groups of GROUP, each layer in another order. */
function groupsOf(users: string[]): string[][][] {
  return Array.from({ length: LAYERS }, (_, layer) => {
    const order = layer === 0 ? users.map((_, i) => i) : shuffled(users.length, layer);
    const groups: string[][] = [];
    for (let i = 0; i < order.length; i += GROUP) {
      groups.push(order.slice(i, i + GROUP).map((k) => users[k]!));
    }
    return groups;
  });
}

async function ask<T extends { ok: boolean }>(call: Promise<T>, what: string) {
  const answer = await call;
  if (!answer.ok) throw new Error(`${what} failed: ${JSON.stringify(answer)}`);
  return answer as T & { ok: true };
}

/**
 * Counts the commands clients send, by name (MONITOR, which also shows the commands a script
 * runs, from the source "lua": those are counted apart, as one script call is one round trip).
 */
async function countCommands(redis: Redis) {
  const sent = new Map<string, number>();
  let inScripts = 0;
  const monitor = await redis.monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source === "lua") return void inScripts++;
    const name = (args[0] ?? "").toLowerCase();
    sent.set(name, (sent.get(name) ?? 0) + 1);
  });
  return {
    /** What was sent since the last call, and resets the counts. */
    take() {
      const taken = { sent: new Map(sent), inScripts };
      sent.clear();
      inScripts = 0;
      return taken;
    },
    stop: () => monitor.disconnect(),
  };
}

/** Presence changes each node has announced so far, by node. */
async function changesAnnounced(nodes: NodeProcess[]): Promise<Map<string, number>> {
  const byNode = new Map<string, number>();
  for (const node of nodes) {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    let total = 0;
    for (const m of text.matchAll(/^chat_presence_changes_total\{[^}]*\} (\S+)$/gm)) {
      total += Number(m[1]);
    }
    byNode.set(node.id, total);
  }
  return byNode;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Row = {
  scenario: string;
  reconnected: number;
  seconds: number;
  follows: number;
  contacts: number;
  changes: number;
  events: number;
  redisCommands: number;
  scripts: number;
  publishes: number;
  /** Presence's lists of each node's users. */
  lists: number;
  otherCommands: number;
  other: Record<string, number>;
  /** Commands the scripts ran inside Redis (not round trips). */
  inScripts: number;
};

async function main() {
  await ensureKeyspace(values.keyspace);
  const redis = await startRedis();
  const commands = await countCommands(redis.client);
  const env = {
    REDIS_URL: redis.url,
    CASSANDRA_KEYSPACE: values.keyspace,
    PRESENCE_HEARTBEAT_S: String(HEARTBEAT_S),
    PRESENCE_TTL_S: String(TTL_S),
    PRESENCE_OFFLINE_GRACE_MS: String(GRACE_MS),
  };
  const nodes = await startNodes("gateway", 2, env);
  const alive = [...nodes];
  const users: string[] = Array.from({ length: USERS }, () => randomUUID());
  const indexOf = new Map(users.map((u, i) => [u, i]));
  const layers = groupsOf(users);
  const contacts = new Map(users.map((u) => [u, new Set<string>()]));
  for (const g of layers.flat()) for (const u of g) for (const p of g) contacts.get(u)!.add(p);
  const contactCount = users.reduce((n, u) => n + contacts.get(u)!.size - 1, 0);
  const sockets = new Array<Client | undefined>(USERS);
  const onScreen = new Array<string>(USERS);
  let events = 0;
  let follows = 0;
  const rows: Row[] = [];

  const connect = async (i: number, node: NodeProcess) => {
    const s = await openSocket<Client>(node.url, { token: tokenFor(users[i]!) });
    s.on("presence", () => void events++);
    sockets[i] = s;
    return s;
  };
  const subscribe = async (i: number) => {
    const a = await ask(
      sockets[i]!.timeout(ACK_TIMEOUT_MS).emitWithAck("presence:subscribe", {
        conversationIds: [onScreen[i]!],
      }),
      "presence:subscribe",
    );
    follows += a.presence.length;
  };
  const nodeOf = (i: number) => alive[i % alive.length]!;

  try {
    // Setup, not measured: every group created by its first member, then everyone offline.
    process.stderr.write(`setup: ${USERS} users, ${layers.flat().length} groups\n`);
    await pool(USERS, CONCURRENCY, (i) => connect(i, nodeOf(i)));
    for (const [layer, groups] of layers.entries()) {
      await pool(groups.length, 50, async (k) => {
        const [creator, ...rest] = groups[k]!;
        const i = indexOf.get(creator!)!;
        const a = await ask(
          sockets[i]!.timeout(ACK_TIMEOUT_MS).emitWithAck("conversation:create", {
            participantIds: rest,
          }),
          "conversation:create",
        );
        if (layer === 0)
          for (const u of groups[k]!) onScreen[indexOf.get(u)!] = a.conversation.conversationId;
      });
    }
    for (const s of sockets) s?.disconnect();
    await sleep(GRACE_MS + HEARTBEAT_S * 1000);

    /** Runs one reconnect storm and records what it cost until `settleMs` after it. */
    const measure = async (scenario: string, storm: () => Promise<number>, settleMs: number) => {
      const before = await changesAnnounced(alive);
      commands.take();
      events = 0;
      follows = 0;
      const started = Date.now();
      const reconnected = await storm();
      const seconds = (Date.now() - started) / 1000;
      await sleep(settleMs);
      const { sent, inScripts } = commands.take();
      const count = (...names: string[]) => names.reduce((n, k) => n + (sent.get(k) ?? 0), 0);
      const total = count(...sent.keys());
      const row: Row = {
        scenario,
        reconnected,
        seconds: round(seconds, 1),
        follows,
        contacts: contactCount,
        // The nodes still running: a killed node announces nothing after it is killed.
        changes: [...(await changesAnnounced(alive)).entries()].reduce(
          (n, [id, changes]) => n + changes - (before.get(id) ?? 0),
          0,
        ),
        events,
        redisCommands: total,
        scripts: count("evalsha", "eval"),
        publishes: count("publish", "spublish"),
        lists: count("sadd", "srem", "srandmember"),
        otherCommands:
          total - count("evalsha", "eval", "publish", "spublish", "sadd", "srem", "srandmember"),
        other: Object.fromEntries(
          [...sent.entries()].filter(
            ([k]) =>
              !["evalsha", "eval", "publish", "spublish", "sadd", "srem", "srandmember"].includes(
                k,
              ),
          ),
        ),
        inScripts,
      };
      rows.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    };
    const reconnectAll = async (which: number[]) => {
      await pool(which.length, CONCURRENCY, async (k) => {
        const i = which[k]!;
        await connect(i, nodeOf(i));
        await subscribe(i);
      });
      return which.length;
    };
    const everyone = users.map((_, i) => i);

    await measure(
      "cold: all come back after more than the grace",
      () => reconnectAll(everyone),
      GRACE_MS + 2000,
    );
    // Each client drops and is back a handshake later, as after a network blip or a reload.
    await measure(
      "blip: each user drops and reconnects at once",
      async () => {
        await pool(USERS, CONCURRENCY, async (i) => {
          sockets[i]!.disconnect();
          await connect(i, nodeOf(i));
          await subscribe(i);
        });
        return USERS;
      },
      GRACE_MS + 2000,
    );
    const victim = alive[1]!;
    const moved = everyone.filter((i) => i % 2 === 1);
    await measure(
      "node killed (SIGKILL): its users reconnect to the other",
      async () => {
        victim.child.kill("SIGKILL");
        alive.splice(1, 1);
        for (const i of moved) sockets[i]?.close();
        return reconnectAll(moved);
      },
      (TTL_S + HEARTBEAT_S) * 1000 + 2000,
    );

    const setup = `${USERS} users on 2 nodes, each in ${LAYERS} groups of ${GROUP} (${round(contactCount / USERS, 1)} contacts on average), following the group on screen (${GROUP - 1} users); heartbeat ${HEARTBEAT_S} s, TTL ${TTL_S} s, grace ${GRACE_MS} ms`;
    for (const r of rows) {
      process.stdout.write(
        table(r.scenario, [
          ["reconnected users", `${r.reconnected} in ${r.seconds} s`],
          ["follows (subscriptions × users)", r.follows],
          ["users × contacts", r.contacts],
          ["presence changes announced", r.changes],
          [
            "presence events delivered",
            `${r.events} (${round(r.events / Math.max(1, r.follows), 3)} per follow)`,
          ],
          [
            "Redis commands",
            `${r.redisCommands} (${round(r.redisCommands / r.reconnected, 1)} per user)`,
          ],
          ["  scripts (EVALSHA)", r.scripts],
          ["  PUBLISH (presence changes, adapter requests)", r.publishes],
          ["  SADD/SREM/SRANDMEMBER (nodes' user lists)", r.lists],
          ["  other", `${r.otherCommands} ${JSON.stringify(r.other)}`],
          ["commands run inside scripts", r.inScripts],
        ]) + "\n",
      );
    }
    process.stdout.write(`${setup}\n`);
    const file = await writeJson(
      "presence",
      { setup, machine: machine(), rows },
      values.json ?? null,
    );
    process.stdout.write(`result: ${file}\n`);
  } finally {
    for (const s of sockets) s?.close();
    await stopNodes(alive);
    commands.stop();
    redis.stop();
    redis.client.disconnect();
  }
}

await main();
