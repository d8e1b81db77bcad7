// One load-generator child process (generators.ts): holds its share of the virtual users' sockets
// and does what the coordinator asks of them; argv: the target kind and the parser.
import type { NodeKind } from "./nodes.js";
import {
  localTarget,
  type GeneratorEvent,
  type GeneratorReply,
  type GeneratorRequest,
} from "./generators.js";
import { ConnectFailure, type Session } from "./target.js";

const [kind, parser] = process.argv.slice(2);
if ((kind !== "gateway" && kind !== "bare") || (parser !== "default" && parser !== "msgpack")) {
  throw new Error(`generator-process: bad arguments ${process.argv.slice(2).join(" ")}`);
}
const target = localTarget(kind satisfies NodeKind, parser);
const sessions = new Map<number, Session>();

const post = (e: GeneratorEvent) => void process.send?.(e);

function reply(id: number, work: Promise<GeneratorReply>) {
  work.then(
    (value) => post({ op: "done", id, value }),
    (err: unknown) =>
      post({
        op: "failed",
        id,
        code: err instanceof ConnectFailure ? err.code : null,
        message: err instanceof Error ? err.message : String(err),
      }),
  );
}

function sessionOf(id: number): Session {
  const s = sessions.get(id);
  if (!s) throw new Error(`no session ${id}`);
  return s;
}

process.on("message", (raw) => {
  const r = raw as GeneratorRequest;
  switch (r.op) {
    case "connect":
      return reply(
        r.id,
        target.connect(r.url, r.userId, r.localAddress).then((session) => {
          sessions.set(r.id, session);
          session.onDelivery((clientMsgId, at) =>
            post({ op: "delivery", session: r.id, clientMsgId, at }),
          );
          session.onDisconnect((reason) => post({ op: "disconnect", session: r.id, reason }));
          return null;
        }),
      );
    case "openDirect":
      return reply(r.id, (async () => sessionOf(r.session).openDirect(r.peerId))());
    case "openGroup":
      return reply(r.id, (async () => sessionOf(r.session).openGroup(r.peerIds))());
    case "send":
      return reply(
        r.id,
        (async () => sessionOf(r.session).send(r.conversation, r.clientMsgId, r.content))(),
      );
    case "close":
      sessions.get(r.session)?.close();
      sessions.delete(r.session);
  }
});
// The coordinator gone: nothing left to do.
process.on("disconnect", () => process.exit(0));
post({ op: "ready" });
