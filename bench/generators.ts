// Virtual users' sockets held by generator child processes (generator-process.ts), so that no
// process holds more sockets than its open-file limit allows. The coordinator (load-run.ts) keeps
// the ledger and the send loop; it sees each remote socket as a Session like a local one.
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { bareTarget } from "./bare-target.js";
import { gatewayTarget } from "./gateway-target.js";
import { ROOT, type NodeKind } from "./nodes.js";
import {
  ConnectFailure,
  type ConversationRef,
  type SendOutcome,
  type Session,
  type Target,
} from "./target.js";

export type Parser = "default" | "msgpack";

/** The sockets of the server under test, held in this process. */
export function localTarget(kind: NodeKind, parser: Parser): Target {
  return kind === "gateway" ? gatewayTarget() : bareTarget(parser);
}

/** Coordinator to generator. */
export type GeneratorRequest =
  | { op: "connect"; id: number; url: string; userId: string; localAddress?: string }
  | { op: "openDirect"; id: number; session: number; peerId: string }
  | { op: "openGroup"; id: number; session: number; peerIds: string[] }
  | {
      op: "send";
      id: number;
      session: number;
      conversation: ConversationRef;
      clientMsgId: string;
      content: string;
    }
  | { op: "close"; session: number };

/** What a request gives back: a conversation id, a send's outcome, or nothing (connect). */
export type GeneratorReply = string | SendOutcome | null;

/**
 * Generator to coordinator. A request's `id` is its session's id for `connect`; a failure's
 * `code` is a refused connection's (ConnectFailure), null for any other error.
 */
export type GeneratorEvent =
  | { op: "ready" }
  | { op: "done"; id: number; value: GeneratorReply }
  | { op: "failed"; id: number; code: string | null; message: string }
  | { op: "delivery"; session: number; clientMsgId: string; at: number }
  | { op: "disconnect"; session: number; reason: string };

type Reply = GeneratorReply;
type Call = { resolve: (value: Reply) => void; reject: (err: Error) => void };

type Generator = {
  child: ChildProcess;
  calls: Map<number, Call>;
  deliveries: Map<number, ((clientMsgId: string, at: number) => void)[]>;
  disconnects: Map<number, ((reason: string) => void)[]>;
};

const ENTRY = path.join(ROOT, "bench", "generator-process.ts");

function startGenerator(kind: NodeKind, parser: Parser): Promise<Generator> {
  const child = fork(ENTRY, [kind, parser], {
    cwd: ROOT,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const g: Generator = { child, calls: new Map(), deliveries: new Map(), disconnects: new Map() };
  return new Promise((resolve, reject) => {
    child.on("message", (raw) => {
      const e = raw as GeneratorEvent;
      switch (e.op) {
        case "ready":
          return resolve(g);
        case "done":
          g.calls.get(e.id)?.resolve(e.value);
          g.calls.delete(e.id);
          return;
        case "failed":
          g.calls.get(e.id)?.reject(e.code ? new ConnectFailure(e.code) : new Error(e.message));
          g.calls.delete(e.id);
          return;
        case "delivery":
          for (const l of g.deliveries.get(e.session) ?? []) l(e.clientMsgId, e.at);
          return;
        case "disconnect":
          for (const l of g.disconnects.get(e.session) ?? []) l(e.reason);
      }
    });
    child.once("exit", (code, signal) => {
      const err = new Error(`generator ${child.pid} exited (${code ?? signal})`);
      reject(err);
      for (const call of g.calls.values()) call.reject(err);
      g.calls.clear();
      for (const ls of g.disconnects.values()) for (const l of ls) l("generator exited");
      g.disconnects.clear();
    });
  });
}

const isOutcome = (v: Reply): v is SendOutcome => typeof v === "object" && v !== null;

/** Forks `count` generators and spreads the connections over them in turn. */
export async function forkGenerators(
  kind: NodeKind,
  parser: Parser,
  count: number,
): Promise<Target> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startGenerator(kind, parser)),
  );
  const generators = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const stop = () =>
    Promise.all(
      generators.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    ).then(() => undefined);
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }

  let nextId = 0;
  let turn = 0;
  const call = (g: Generator, request: Exclude<GeneratorRequest, { op: "close" }>) =>
    new Promise<Reply>((resolve, reject) => {
      g.calls.set(request.id, { resolve, reject });
      g.child.send(request);
    });

  return {
    pids: generators.map((g) => g.child.pid ?? 0),
    stop,
    async connect(url, userId, localAddress) {
      const g = generators[turn++ % generators.length] as Generator;
      const sid = nextId++;
      await call(g, { op: "connect", id: sid, url, userId, ...(localAddress && { localAddress }) });
      const listen = <L>(map: Map<number, L[]>, l: L) => map.set(sid, [...(map.get(sid) ?? []), l]);
      const text = async (request: Promise<Reply>) => {
        const v = await request;
        if (typeof v !== "string") throw new Error("generator: expected an id");
        return v;
      };
      const session: Session = {
        onDelivery: (l) => void listen(g.deliveries, l),
        onDisconnect: (l) => void listen(g.disconnects, l),
        openDirect: (peerId) =>
          text(call(g, { op: "openDirect", id: nextId++, session: sid, peerId })),
        openGroup: (peerIds) =>
          text(call(g, { op: "openGroup", id: nextId++, session: sid, peerIds })),
        async send(conversation, clientMsgId, content) {
          const v = await call(g, {
            op: "send",
            id: nextId++,
            session: sid,
            conversation,
            clientMsgId,
            content,
          });
          if (!isOutcome(v)) throw new Error("generator: expected a send outcome");
          return v;
        },
        close() {
          g.deliveries.delete(sid);
          g.disconnects.delete(sid);
          if (g.child.connected) g.child.send({ op: "close", session: sid });
        },
      };
      return session;
    },
  };
}
