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
import type { PresenceService } from "../services/presence-service.js";
import type { RequestGate } from "./request-gate.js";
import type { Session } from "./session.js";
import type { GatewaySocket } from "./types.js";

type Context = { userId: string; socketId: string; session: Session };

/** What a node keeps per socket for its requests; the listeners are shared by all sockets. */
type SocketState = { ctx: Context; requests: number; inFlight: number };

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
  presence: PresenceService;
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

/**
 * The request listeners of a node, made once and shared by its sockets (each gets the socket as
 * `this`): a socket costs its entry in `states`, not a closure per event. Returns the function
 * that attaches them to a socket.
 */
export function requestHandlers(
  services: Services,
  deps: { limits: Limits; metrics: Metrics; log: Logger; gate: RequestGate },
): (socket: GatewaySocket, session: Session) => void {
  const { limits, metrics, gate } = deps;
  const states = new WeakMap<GatewaySocket, SocketState>();
  const listeners: [RequestEvent, (this: GatewaySocket, ...args: unknown[]) => void][] = [];

  async function handle<E extends RequestEvent>(
    socket: GatewaySocket,
    event: E,
    route: Route<E>,
    args: unknown[],
  ) {
    const state = states.get(socket);
    // The callback comes last; a callback alone (`emit(event, cb)`) is a request with an empty
    // payload. Without a callback there is no one to answer, so nothing is done.
    const ack = args.at(-1);
    if (!state || typeof ack !== "function") return;
    const { ctx } = state;
    const payload = args.length > 1 ? args[0] : {};
    const answer = ack as (a: Answer) => void;
    const started = performance.now();
    // Unique on this node: socket ids are random, the counter is per socket. The child logger
    // is made only when something is logged, not on every request of the hot path.
    const bindings = { req: `${ctx.socketId}.${++state.requests}`, event, user: ctx.userId };
    const log = () => deps.log.child(bindings);
    let result: Answer;
    const parsed = requestSchemas[event].safeParse(payload);
    const admitted = gate.enter();
    state.inFlight++;
    try {
      // Refused before anything is done, so a retry on another node is safe.
      if (!admitted) throw unavailable("this node is shutting down; retry");
      if (state.inFlight > limits.maxInFlight) throw rateLimited(IN_FLIGHT_RETRY_MS);
      // Every valid request is under the size limit, so only a refused one needs measuring.
      if (!parsed.success) throw invalid(payload, parsed.error.issues);
      await limits.request(event, ctx.userId);
      result = { ok: true, ...(await route(ctx, parsed.data as ValidRequest<E>)) };
    } catch (err) {
      result = toFailure(err, log());
    }
    state.inFlight--;
    const seconds = (performance.now() - started) / 1000;
    const outcome = result.ok ? "ok" : result.error.code;
    metrics.requestsTotal.inc({ event, outcome });
    metrics.requestDurationSeconds.observe({ event }, seconds);
    if (deps.log.isLevelEnabled("debug")) {
      log().debug({ outcome, ms: Math.round(seconds * 1000) }, "request answered");
    }
    answer(result);
    if (admitted) gate.leave();
  }

  function on<E extends RequestEvent>(event: E, route: Route<E>) {
    listeners.push([
      event,
      function (this: GatewaySocket, ...args: unknown[]) {
        void handle(this, event, route, args);
      },
    ]);
  }

  const { messages, changes, conversations, members, sync, presence } = services;
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
  on("auth:refresh", async (c, req) => c.session.refresh(req.token));
  on("presence:subscribe", (c, req) => presence.subscribe(c.userId, c.socketId, req));

  return (socket, session) => {
    states.set(socket, {
      ctx: { userId: socket.data.userId, socketId: socket.id, session },
      requests: 0,
      inFlight: 0,
    });
    // Payloads arrive as unknown whatever the event map promises; the schema decides what they are.
    const add = socket.on as (
      ev: string,
      fn: (this: GatewaySocket, ...args: unknown[]) => void,
    ) => void;
    for (const [event, listener] of listeners) add.call(socket, event, listener);
  };
}
