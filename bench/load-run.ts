// One load run: start the nodes, connect the virtual users, open their conversations, send at
// the target rate, wait for the last deliveries, and check every delivery against the sends.
import { randomUUID } from "node:crypto";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { forkGenerators, localTarget } from "./generators.js";
import { ensureKeyspace } from "./keyspace.js";
import { Ledger } from "./ledger.js";
import { watchMachineCpu } from "./machine-cpu.js";
import { perSocket, sampleMemory, type NodeMemory } from "./memory.js";
import { cpuSeconds, openFileLimit, startNodes, stopNodes } from "./nodes.js";
import type { LoadOptions } from "./options.js";
import { pool } from "./pool.js";
import { round, Tally, type Percentiles } from "./stats.js";
import { watchTail, type TailCauses } from "./tail-causes.js";
import { ConnectFailure, type ConversationRef, type Session, type Target } from "./target.js";

export type Progress = {
  phase: "connect" | "conversations" | "send" | "drain";
  elapsedS: number;
  sockets: number;
  sent: number;
  acked: number;
  ackedPerS: number;
  delivered: number;
  errors: number;
  inflight: number;
};

export type LoadResult = {
  options: LoadOptions;
  startedAt: string;
  loadAverage: { start: number[]; end: number[] };
  connections: { sockets: number; seconds: number; perSecond: number };
  conversations: { direct: number; group: number };
  sends: {
    sent: number;
    acked: number;
    ackedPerSecond: number;
    deliveries: number;
    deliveriesPerSecond: number;
    lost: number;
    duplicated: number;
    unexpected: number;
  };
  errors: Record<string, number>;
  latencyMs: Percentiles;
  ackLatencyMs: Percentiles;
  /**
   * CPU time per acknowledged send during the send phase: all nodes together, and the generator;
   * `nodesIdle` is what the nodes spend anyway (heartbeats, timers), measured with --idle, over
   * the same time. `cassandra` and `redis` are the local Cassandra's and Redis' CPU over the
   * phase per send (null where not found).
   */
  cpuMsPerSend: {
    nodes: number;
    nodesIdle: number;
    generator: number;
    cassandra: number | null;
    redis: number | null;
  };
  /** How many of the machine's cores were busy in the send phase, on average, and of how many. */
  machine: { busyCores: number; cores: number };
  memory: NodeMemory[];
  /** The same after a full garbage collection in each node (--collect-garbage), else null. */
  memoryAfterGc: NodeMemory[] | null;
  /** What the send phase's tail latency went to. */
  tail: TailCauses;
};

type Conversation = { ref: ConversationRef; members: number[] };
type User = { id: string; node: number; session: Session | null };

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

/** Room for a node's or a generator's other files (Cassandra, Redis, logs, modules). */
const OTHER_FILES = 200;

/** Refuses a run in which one process would need more sockets than it may open files. */
async function checkOpenFiles(opts: LoadOptions) {
  const limit = await openFileLimit();
  const perNode = Math.ceil(opts.users / opts.nodes);
  const perGenerator = Math.ceil(opts.users / Math.max(1, opts.generators));
  const fits = (n: number) => n + OTHER_FILES <= limit;
  if (!fits(perNode)) {
    throw new Error(
      `${perNode} sockets per node, but a process may open ${limit} files (ulimit -n): add --nodes`,
    );
  }
  if (!fits(perGenerator)) {
    throw new Error(
      `${perGenerator} sockets per generator process, but a process may open ${limit} files ` +
        `(ulimit -n): add --generators`,
    );
  }
}

/** The i-th socket's source address: 127.0.0.1 .. 127.0.0.N in turn; none with one. */
const sourceAddress = (i: number, count: number) =>
  count > 1 ? `127.0.0.${1 + (i % count)}` : undefined;

export async function runLoad(
  opts: LoadOptions,
  onProgress: (p: Progress) => void = () => undefined,
): Promise<LoadResult> {
  const startedAt = new Date().toISOString();
  const loadStart = os.loadavg().map((x) => round(x));
  await checkOpenFiles(opts);
  if (opts.target === "gateway") await ensureKeyspace(opts.keyspace);
  const nodes = await startNodes(
    opts.target,
    opts.nodes,
    {
      CASSANDRA_KEYSPACE: opts.keyspace,
      REDIS_ADAPTER: opts.adapter,
      BENCH_PARSER: opts.parser,
    },
    { inspect: opts.collectGarbage, compiled: opts.compiled },
  );
  const users: User[] = Array.from({ length: opts.users }, (_, i) => ({
    id: randomUUID(),
    node: i % nodes.length,
    session: null,
  }));
  const ledger = new Ledger(users.length);
  const connectErrors = new Tally();
  let closing = false;
  let phase: Progress["phase"] = "connect";
  const t0 = performance.now();
  let lastAcked = 0;
  const ticker = setInterval(() => {
    onProgress({
      phase,
      elapsedS: round((performance.now() - t0) / 1000, 1),
      sockets: users.filter((u) => u.session).length,
      sent: ledger.sent,
      acked: ledger.acked,
      ackedPerS: ledger.acked - lastAcked,
      delivered: ledger.delivered,
      errors: ledger.errors.total + connectErrors.total,
      inflight: ledger.inflight,
    });
    lastAcked = ledger.acked;
  }, 1000);

  let target: Target | undefined;
  try {
    target =
      opts.generators > 0
        ? await forkGenerators(opts.target, opts.parser, opts.generators)
        : localTarget(opts.target, opts.parser);
    const clients = target;
    await new Promise((r) => setTimeout(r, 1000));
    const before = await sampleMemory(nodes, opts.collectGarbage);
    const connectStart = performance.now();
    await pool(users.length, opts.connectConcurrency, async (i) => {
      const user = users[i] as User;
      try {
        const session = await clients.connect(
          nodes[user.node]?.url ?? "",
          user.id,
          sourceAddress(i, opts.sourceAddresses),
        );
        session.onDelivery((clientMsgId, at) => ledger.delivery(i, clientMsgId, at));
        session.onDisconnect(() => {
          if (!closing) ledger.errors.add("DISCONNECTED");
        });
        user.session = session;
      } catch (err) {
        connectErrors.add(`CONNECT_${err instanceof ConnectFailure ? err.code : "ERROR"}`);
      }
    });
    const connectSeconds = (performance.now() - connectStart) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const perNode = nodes.map((_, n) => users.filter((u) => u.session && u.node === n).length);
    const memory = perSocket(nodes, before, await sampleMemory(nodes), perNode);
    const memoryAfterGc = opts.collectGarbage
      ? perSocket(nodes, before, await sampleMemory(nodes, true), perNode)
      : null;
    const sockets = users.filter((u) => u.session).length;

    phase = "conversations";
    const conversations = await openConversations(users, opts);

    const idleCpuPerS = await idleCpu(
      nodes.map((n) => n.pid),
      opts.idleS,
    );

    phase = "send";
    const sendStart = performance.now();
    const cpuBefore = await Promise.all(nodes.map((n) => cpuSeconds(n.pid)));
    const generatorPids = target.pids ?? [];
    const generatorBefore = process.cpuUsage();
    const generatorsBefore = await Promise.all(generatorPids.map(cpuSeconds));
    const ackedBefore = ledger.acked;
    const endTail = await watchTail(nodes);
    const endMachine = await watchMachineCpu();
    const window = await sendPhase(users, conversations, ledger, opts);
    const machine = await endMachine();
    const tail = await endTail();
    const cpuAfter = await Promise.all(nodes.map((n) => cpuSeconds(n.pid)));
    const generatorCpu = process.cpuUsage(generatorBefore);
    const generatorsAfter = await Promise.all(generatorPids.map(cpuSeconds));
    const generatorsCpuS = generatorsAfter.reduce(
      (sum, c, i) => sum + c - (generatorsBefore[i] ?? 0),
      0,
    );
    const ackedInPhase = Math.max(1, ledger.acked - ackedBefore);
    const nodesCpu = cpuAfter.reduce((sum, c, i) => sum + c - (cpuBefore[i] ?? 0), 0);
    const perSend = (s: number | null) => (s === null ? null : round((s * 1000) / ackedInPhase, 3));
    const idleCpuS = (idleCpuPerS * (performance.now() - sendStart)) / 1000;

    phase = "drain";
    const drainUntil = performance.now() + opts.graceS * 1000;
    while (!ledger.settled() && performance.now() < drainUntil) {
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const [code, n] of Object.entries(connectErrors.counts)) ledger.errors.add(code, n);
    return {
      options: opts,
      startedAt,
      loadAverage: { start: loadStart, end: os.loadavg().map((x) => round(x)) },
      connections: {
        sockets,
        seconds: round(connectSeconds),
        perSecond: round(sockets / connectSeconds, 0),
      },
      conversations: {
        direct: conversations.filter((c) => c.members.length === 2).length,
        group: conversations.filter((c) => c.members.length > 2).length,
      },
      sends: {
        sent: ledger.sent,
        acked: ledger.acked,
        ackedPerSecond: round(window.acked / opts.durationS, 0),
        deliveries: ledger.delivered,
        deliveriesPerSecond: round(window.delivered / opts.durationS, 0),
        lost: ledger.lost(),
        duplicated: ledger.duplicated,
        unexpected: ledger.unexpected,
      },
      errors: ledger.errors.counts,
      latencyMs: ledger.latency.summary(),
      ackLatencyMs: ledger.ackLatency.summary(),
      cpuMsPerSend: {
        nodes: round((nodesCpu * 1000) / ackedInPhase, 3),
        nodesIdle: round((idleCpuS * 1000) / ackedInPhase, 3),
        generator: round(
          ((generatorCpu.user + generatorCpu.system) / 1000 + generatorsCpuS * 1000) / ackedInPhase,
          3,
        ),
        cassandra: perSend(machine.cassandraS),
        redis: perSend(machine.redisS),
      },
      machine: {
        busyCores: round((machine.busyS / Math.max(0.01, machine.totalS)) * os.cpus().length, 2),
        cores: os.cpus().length,
      },
      memory,
      memoryAfterGc,
      tail,
    };
  } finally {
    clearInterval(ticker);
    closing = true;
    for (const u of users) u.session?.close();
    await stopNodes(nodes);
    await target?.stop?.();
  }
}

/** CPU seconds per second the processes use together while nothing is sent. */
async function idleCpu(pids: number[], seconds: number): Promise<number> {
  if (seconds <= 0) return 0;
  const before = await Promise.all(pids.map(cpuSeconds));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = await Promise.all(pids.map(cpuSeconds));
  return after.reduce((sum, c, i) => sum + c - (before[i] ?? 0), 0) / seconds;
}

/**
 * Direct pairs of neighbours and groups of `groupSize` neighbours: neighbours sit on different
 * nodes, so every conversation crosses nodes.
 */
async function openConversations(users: User[], opts: LoadOptions): Promise<Conversation[]> {
  const connected = users.flatMap((u, i) => (u.session ? [i] : []));
  const directUsers = Math.floor((connected.length * opts.directShare) / 2) * 2;
  const groups: number[][] = [];
  for (let i = 0; i + 1 < directUsers; i += 2) groups.push(connected.slice(i, i + 2));
  for (let i = directUsers; i + 1 < connected.length; i += opts.groupSize) {
    groups.push(connected.slice(i, i + opts.groupSize));
  }
  return pool(groups.length, 50, async (g) => {
    const members = groups[g] as number[];
    const [first, ...rest] = members.map((m) => users[m] as User);
    const session = first?.session as Session;
    const peers = rest.map((u) => u.id);
    const conversationId =
      members.length === 2
        ? await session.openDirect(peers[0] ?? "")
        : await session.openGroup(peers);
    return {
      ref: { conversationId, participantIds: members.map((m) => (users[m] as User).id) },
      members,
    };
  });
}

/** Sends for ramp + duration seconds; returns what was acknowledged and delivered after the ramp. */
async function sendPhase(
  users: User[],
  conversations: Conversation[],
  ledger: Ledger,
  opts: LoadOptions,
): Promise<{ acked: number; delivered: number }> {
  const content = "x".repeat(opts.contentBytes);
  const run = randomUUID().slice(0, 8);
  const rampMs = opts.rampS * 1000;
  const endMs = rampMs + opts.durationS * 1000;
  const start = performance.now();
  let issued = 0;
  let steady: { acked: number; delivered: number } | null = null;

  const sendOne = () => {
    const c = pick(conversations);
    const sender = pick(c.members);
    const clientMsgId = `${run}-${issued++}`;
    const recipients = new Map(
      c.members.filter((m) => m !== sender).map((m) => [m, (users[m] as User).node] as const),
    );
    const measured = performance.now() - start >= rampMs;
    ledger.sending(clientMsgId, (users[sender] as User).node, recipients, measured);
    void (users[sender] as User).session?.send(c.ref, clientMsgId, content).then((o) => {
      ledger.answered(clientMsgId, o.ok ? null : o.code, o.at);
      if (opts.rate === "max") tick();
    });
  };

  // Open loop: the send count follows the ramped rate's integral. Closed loop ("max"): the
  // number of outstanding sends ramps up to `inflight`.
  const tick = () => {
    const t = performance.now() - start;
    if (t >= endMs || conversations.length === 0) return;
    const ramp = rampMs > 0 ? Math.min(1, t / rampMs) : 1;
    if (opts.rate === "max") {
      const window = Math.max(1, Math.round(opts.inflight * ramp));
      while (ledger.inflight < window) sendOne();
    } else {
      const due =
        t < rampMs ? (opts.rate * t * t) / (2 * rampMs) : opts.rate * (rampMs / 2 + (t - rampMs));
      while (issued < Math.floor(due / 1000)) sendOne();
    }
  };

  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const t = performance.now() - start;
      if (!steady && t >= rampMs) steady = { acked: ledger.acked, delivered: ledger.delivered };
      if (t >= endMs) {
        clearInterval(timer);
        resolve();
        return;
      }
      tick();
    }, 2);
  });
  const from = steady ?? { acked: 0, delivered: 0 };
  return { acked: ledger.acked - from.acked, delivered: ledger.delivered - from.delivered };
}
