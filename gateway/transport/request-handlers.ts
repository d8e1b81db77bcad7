// Every request: validate the payload, run the service call, answer once. Validation failures
// and errors become contract answers here and nowhere else.
import { performance } from "node:perf_hooks";
import { MAX_REQUEST_BYTES } from "../../shared/limits.js";
import type { Answer, RequestEvent, RequestSuccess } from "../../shared/protocol.js";
import { requestSchemas, type ValidRequest } from "../../shared/schemas.js";
import { badRequest, payloadTooLarge, rateLimited, toFailure, unavailable } from "../errors.js";
import type { Metrics } from "../http/metrics.js";
import type { Limits } from "../limits/limits.js";
import type { Logger } from "../logger.js";
import type { ConversationService } from "../services/conversation-service.js";
import type { MembershipService } from "../services/membership-service.js";
import type { MessageChangeService } from "../services/message-change-service.js";
import type { MessageService } from "../services/message-service.js";
import type { NameService } from "../services/name-service.js";
import type { SyncService } from "../services/sync-service.js";
import type { RequestGate } from "./request-gate.js";
import type { Session } from "./session.js";
import type { GatewaySocket } from "./types.js";

type Context = { userId: string; socketId: string };

/** When a socket has too many requests running: about as long as a typical one takes. */
const IN_FLIGHT_RETRY_MS = 100;
type Route<E extends RequestEvent> = (
  ctx: Context,
  req: ValidRequest<E>,
) => Promise<RequestSuccess<E>>;

export type Services = {
  messages: MessageService;
  changes: MessageChangeService;
  conversations: ConversationService;
  members: MembershipService;
  sync: SyncService;
  names: NameService;
};

/** The payload's size as JSON; what cannot be measured counts as too large. */
function encodedBytes(payload: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(payload) ?? "");
  } catch {
    return Infinity;
  }
}

function invalid(payload: unknown, issues: { path: PropertyKey[]; message: string }[]) {
  const bytes = encodedBytes(payload);
  return bytes > MAX_REQUEST_BYTES
    ? payloadTooLarge(`request is over ${MAX_REQUEST_BYTES} bytes`)
    : badRequest(describeIssue(issues));
}

function describeIssue(issues: { path: PropertyKey[]; message: string }[]): string {
  const first = issues[0];
  if (!first) return "invalid payload";
  const where = first.path.map(String).join(".");
  return where ? `${where}: ${first.message}` : first.message;
}

export function registerRequestHandlers(
  socket: GatewaySocket,
  services: Services,
  deps: { limits: Limits; metrics: Metrics; log: Logger; gate: RequestGate; session: Session },
) {
  const { limits, metrics, gate } = deps;
  const ctx: Context = { userId: socket.data.userId, socketId: socket.id };
  let requests = 0;
  let inFlight = 0;

  function on<E extends RequestEvent>(event: E, route: Route<E>) {
    const listener = async (...args: unknown[]) => {
      // The callback comes last; a callback alone (`emit(event, cb)`) is a request with an empty
      // payload. Without a callback there is no one to answer, so nothing is done.
      const ack = args.at(-1);
      if (typeof ack !== "function") return;
      const payload = args.length > 1 ? args[0] : {};
      const answer = ack as (a: Answer) => void;
      const started = performance.now();
      // Unique on this node: socket ids are random, the counter is per socket. The child logger
      // is made only when something is logged, not on every request of the hot path.
      const bindings = { req: `${socket.id}.${++requests}`, event, user: ctx.userId };
      const log = () => deps.log.child(bindings);
      let result: Answer;
      const parsed = requestSchemas[event].safeParse(payload);
      const admitted = gate.enter();
      inFlight++;
      try {
        // Refused before anything is done, so a retry on another node is safe.
        if (!admitted) throw unavailable("this node is shutting down; retry");
        if (inFlight > limits.maxInFlight) throw rateLimited(IN_FLIGHT_RETRY_MS);
        // Every valid request is under the size limit, so only a refused one needs measuring.
        if (!parsed.success) throw invalid(payload, parsed.error.issues);
        await limits.request(event, ctx.userId);
        result = { ok: true, ...(await route(ctx, parsed.data as ValidRequest<E>)) };
      } catch (err) {
        result = toFailure(err, log());
      }
      inFlight--;
      const seconds = (performance.now() - started) / 1000;
      const outcome = result.ok ? "ok" : result.error.code;
      metrics.requestsTotal.inc({ event, outcome });
      metrics.requestDurationSeconds.observe({ event }, seconds);
      if (deps.log.isLevelEnabled("debug")) {
        log().debug({ outcome, ms: Math.round(seconds * 1000) }, "request answered");
      }
      answer(result);
      if (admitted) gate.leave();
    };
    // Payloads arrive as unknown whatever the event map promises; the schema decides what they are.
    (socket.on as (ev: string, fn: (payload: unknown, ack: unknown) => void) => void).call(
      socket,
      event,
      listener,
    );
  }

  const { messages, changes, conversations, members, sync } = services;
  on("message:send", async (c, req) => {
    const message = await messages.send(c.userId, req, c.socketId);
    metrics.messagesSentTotal.inc();
    return { message };
  });
  on("history:fetch", (c, req) => messages.history(c.userId, req));
  on("history:since", (c, req) => messages.since(c.userId, req));
  on("conversations:list", (c, req) => conversations.list(c.userId, req.limit, req.cursor));
  on("conversation:open", async (c, req) => ({
    conversation: await conversations.view(
      await conversations.openDirect(c.userId, req.peerId),
      c.userId,
    ),
  }));
  on("conversation:create", async (c, req) => ({
    conversation: await conversations.createGroup(c.userId, req.participantIds, req.title),
  }));
  on("message:read", async (c, req) => {
    await messages.markRead(c.userId, req);
    return {};
  });
  on("typing", async (c, req) => {
    await conversations.typing(c.userId, req);
    return {};
  });
  on("message:edit", (c, req) => changes.edit(c.userId, req, c.socketId));
  on("message:delete", (c, req) => changes.delete(c.userId, req, c.socketId));
  on("reaction:add", (c, req) => changes.react(c.userId, req, true, c.socketId));
  on("reaction:remove", (c, req) => changes.react(c.userId, req, false, c.socketId));
  on("changes:since", (c, req) => changes.since(c.userId, req));
  on("conversation:add", (c, req) => members.add(c.userId, req, c.socketId));
  on("conversation:remove", (c, req) => members.remove(c.userId, req, c.socketId));
  on("conversation:rename", (c, req) => members.rename(c.userId, req, c.socketId));
  on("conversation:leave", (c, req) => members.leave(c.userId, req));
  on("sync", (c, req) => sync.sync(c.userId, req));
  on("auth:refresh", async (_c, req) => deps.session.refresh(req.token));
}
