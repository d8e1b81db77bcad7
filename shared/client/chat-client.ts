// The typed client of the gateway that the web app, the load generator and the tests share.
// Runs in browsers and Node alike: socket.io-client is the transport, no Node-only imports.
import { io, type ManagerOptions, type SocketOptions } from "socket.io-client";
import { v4 as uuidv4 } from "uuid";
import { compareMessageIds, messageIdTime, minMessageIdAt } from "../message-id.js";
import type {
  Answer,
  ConnectErrorData,
  Conversation,
  ConversationUpdatedEvent,
  Message,
  MessageDeletedEvent,
  MessageEditedEvent,
  PresenceState,
  ReactionEvent,
  ReceiptEvent,
  RequestEvent,
  RequestPayload,
  RequestResult,
  SendRequest,
  TypingEvent,
} from "../protocol.js";
import { emitRequest, type ProtocolSocket } from "../request.js";
import { sleep } from "../sleep.js";
import { Emitter } from "./emitter.js";
import { RequestError } from "./request-error.js";
import { SeenIds } from "./seen-ids.js";

export type ChatSocket = ProtocolSocket;

/**
 * `connecting` until the first connection, `reconnecting` after one was lost (the client keeps
 * trying), `closed` when it stopped for good: `close()`, a refused token or an expired session.
 */
export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "closed";
export type StatusChange = { status: ConnectionStatus; reason?: string };

export type ChatClientEvents = {
  status: StatusChange;
  /** Every message the client learns of, once: live, acknowledged sends, and caught up. */
  message: Message;
  receipt: ReceiptEvent;
  typing: TypingEvent;
  conversation: Conversation;
  /** A message was edited (live). */
  edited: MessageEditedEvent;
  /** A message was deleted for everyone (live). */
  deleted: MessageDeletedEvent;
  /** A reaction was added or removed (live). */
  reaction: ReactionEvent;
  /**
   * A message's current state, from a catch-up: it changed (edited, deleted, reacted to) while
   * events could have been missed. Replaces a held copy whose `version` is not higher.
   */
  changed: Message;
  /** A group's members or title changed (live). */
  updated: ConversationUpdatedEvent;
  /** The user is no longer in the conversation: removed, left (live), or found so by a catch-up. */
  removed: { conversationId: string; by?: string };
  /** A followed user's presence: from `followPresence` answers (after every reconnection too) and live. */
  presence: PresenceState;
  /** A catch-up after a (re)connection finished: `messages` were missed, `changes` re-read. */
  synced: { messages: number; changes: number };
  /** The session was moved by `auth:refresh` to a new token's `expiresAt` (ISO-8601). */
  refreshed: { expiresAt: string };
};

/** Per conversation, what a catch-up fetches: new messages, and changes after a time. */
type CatchUpTodo = { messages: boolean; changesAfter: string | null };
type CatchUpPlan = { position: string | undefined; todo: Map<string, CatchUpTodo> };

export type SendInput = { content: string; clientMsgId?: string; replyTo?: string } & (
  { conversationId: string } | { recipientId: string }
);

export type ChatClientOptions = {
  url: string;
  /**
   * A token, or a function asked for one at every (re)connection and, on `session:expiring`,
   * for a new one that `auth:refresh` hands to the open socket.
   */
  token: string | (() => string | Promise<string>);
  /** How long a request waits for the connection and its answer; 10 s. */
  requestTimeoutMs?: number;
  /** How long `send` keeps retrying before it gives up; 60 s. */
  sendTimeoutMs?: number;
  /** First pause between retries, doubled on each retry up to 5 s; 250 ms. */
  retryDelayMs?: number;
  /** Messages per `history:since` page during a catch-up; 100 (the gateway's maximum). */
  catchUpPageSize?: number;
  /** Passed to socket.io-client (e.g. `transports`, `reconnectionDelayMax`). */
  socket?: Partial<ManagerOptions & SocketOptions>;
};

/** A fresh `clientMsgId`: a v4 UUID (crypto.getRandomValues works on plain-http pages too). */
export const newClientMsgId = (): string => uuidv4();

const MAX_RETRY_DELAY_MS = 5000;
/** Tries of one refresh (token function, then `auth:refresh`) before the session is let expire. */
const REFRESH_ATTEMPTS = 4;
/**
 * A catch-up starts this long before the cursor: a message's id is taken before it is stored, so
 * a message with an older id can become visible after a newer one was delivered (concurrent
 * senders, a send finished by a retry on another node). Longer than a send's storage timeout.
 */
const CATCH_UP_OVERLAP_MS = 30_000;

export class ChatClient extends Emitter<ChatClientEvents> {
  readonly socket: ChatSocket;
  private state: StatusChange = { status: "closed", reason: "not connected yet" };
  private readonly seen = new SeenIds();
  /** Per tracked conversation, the newest message id up to which nothing is missing. */
  private readonly cursors = new Map<string, string | null>();
  /** Conversations whose catch-up has not finished; their cursors wait for it. */
  private readonly syncing = new Set<string>();
  /** Newest live message ids of syncing conversations, applied when their catch-up ends. */
  private readonly deferred = new Map<string, string>();
  /** Where the last finished catch-up left off: `sync` answers what changed since. */
  private position: string | undefined;
  /** Counts catch-ups; a running one stops when a newer one (new connection, sync:required) starts. */
  private catchUps = 0;
  private everConnected = false;
  private expired = false;
  private refusals = 0;
  /** Counts refreshes; a running one stops when a newer `session:expiring` starts another. */
  private refreshes = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The conversations whose participants' presence is followed, again after a reconnection. */
  private followed: string[] = [];

  constructor(private readonly options: ChatClientOptions) {
    super();
    const { token } = options;
    this.socket = io(options.url, {
      reconnectionDelay: 500,
      reconnectionDelayMax: MAX_RETRY_DELAY_MS,
      ...options.socket,
      autoConnect: false,
      auth: (cb) => {
        void Promise.resolve(typeof token === "function" ? token() : token).then(
          (t) => cb({ token: t }),
          () => cb({}), // refused as "missing", which closes the client with that reason
        );
      },
    });
    const s = this.socket;
    s.on("connect", () => this.onConnect());
    s.on("connect_error", (err) => this.onConnectError(err));
    s.on("disconnect", (reason) => this.onDisconnect(reason));
    s.on("message:new", (m) => this.accept(m));
    s.on("receipt", (r) => this.emit("receipt", r));
    s.on("typing", (t) => this.emit("typing", t));
    s.on("message:edited", (e) => this.emit("edited", e));
    s.on("message:deleted", (e) => this.emit("deleted", e));
    s.on("reaction", (e) => this.emit("reaction", e));
    s.on("conversation:updated", (e) => this.emit("updated", e));
    s.on("conversation:removed", (e) => {
      this.cursors.delete(e.conversationId);
      this.emit("removed", e);
    });
    s.on("presence", (p) => this.emit("presence", p));
    s.on("conversation:new", (c) => {
      this.trackConversation(c);
      this.emit("conversation", c);
    });
    s.on("session:expired", () => (this.expired = true));
    s.on("session:expiring", ({ expiresAt }) => void this.refresh(Date.parse(expiresAt)));
    // Some live messages were lost on the server's side: catch up as after a reconnection.
    s.on("sync:required", () => this.startCatchUp());
  }

  get status(): ConnectionStatus {
    return this.state.status;
  }

  /** Opens the connection; resolves once connected, rejects if the client closes first. */
  connect(): Promise<void> {
    if (this.state.status === "closed") {
      this.setStatus({ status: this.everConnected ? "reconnecting" : "connecting" });
      this.socket.connect();
    }
    return this.whenConnected(Infinity);
  }

  close(): void {
    clearTimeout(this.retryTimer);
    this.setStatus({ status: "closed", reason: "closed by the client" });
    this.socket.disconnect();
  }

  /**
   * Catch up on this conversation after every reconnection from `lastMessageId` (the newest
   * message the caller has; null: it has none). Conversations the client sees messages of, opens,
   * creates or lists are tracked without asking.
   */
  track(conversationId: string, lastMessageId: string | null = null): void {
    if (!this.cursors.has(conversationId)) this.cursors.set(conversationId, null);
    if (lastMessageId) this.advance(conversationId, lastMessageId);
  }

  /**
   * Follows the presence of these conversations' participants (replacing those followed before;
   * `[]` stops), now and after every reconnection; each state is emitted as `presence`.
   */
  async followPresence(conversationIds: string[]): Promise<PresenceState[]> {
    this.followed = conversationIds;
    return this.readPresence();
  }

  private async readPresence(): Promise<PresenceState[]> {
    const conversationIds = this.followed;
    const { presence } = await this.call("presence:subscribe", { conversationIds });
    // A newer call replaced this one meanwhile: its answer is the one to show.
    if (conversationIds === this.followed) for (const p of presence) this.emit("presence", p);
    return presence;
  }

  /**
   * A typed request: resolves with the ok answer, rejects with a RequestError carrying the
   * gateway's code, `TIMEOUT` when no answer came within `timeoutMs` (waiting for a connection
   * included), or `DISCONNECTED` when the connection dropped first. Never sent twice.
   */
  async request<E extends RequestEvent>(
    event: E,
    payload: RequestPayload<E>,
    opts: { timeoutMs?: number } = {},
  ): Promise<RequestResult<E>> {
    const answer = await this.call(event, payload, opts.timeoutMs);
    this.observe(event, payload, answer);
    return answer;
  }

  /**
   * Sends a message and resolves with it once the gateway stored it. Retried with the same
   * `clientMsgId` (so stored once) across timeouts, lost connections and UNAVAILABLE answers
   * until acknowledged or `sendTimeoutMs` passed; the message is also emitted as `message`.
   */
  async send(input: SendInput): Promise<Message> {
    const request = { ...input, clientMsgId: input.clientMsgId ?? newClientMsgId() } as SendRequest;
    const deadline = Date.now() + (this.options.sendTimeoutMs ?? 60_000);
    const perAttempt = this.options.requestTimeoutMs ?? 10_000;
    for (let attempt = 0; ; attempt++) {
      try {
        const timeoutMs = Math.max(1, Math.min(perAttempt, deadline - Date.now()));
        const { message } = await this.call("message:send", request, timeoutMs);
        this.accept(message);
        return message;
      } catch (err) {
        if (!(err instanceof RequestError) || !err.retryable || this.state.status === "closed") {
          throw err;
        }
        const pause = err.retryAfterMs ?? this.retryDelay(attempt);
        if (Date.now() + pause >= deadline) throw err;
        await sleep(pause);
      }
    }
  }

  private async call<E extends RequestEvent>(
    event: E,
    payload: RequestPayload<E>,
    timeoutMs = this.options.requestTimeoutMs ?? 10_000,
  ): Promise<RequestResult<E>> {
    const deadline = Date.now() + timeoutMs;
    await this.whenConnected(deadline);
    let answer: Answer;
    try {
      answer = await emitRequest(this.socket, event, payload, Math.max(1, deadline - Date.now()));
    } catch {
      throw this.socket.connected
        ? new RequestError("TIMEOUT", `${event}: no answer within ${timeoutMs} ms`)
        : new RequestError("DISCONNECTED", `${event}: the connection dropped before the answer`);
    }
    if (!answer.ok) throw RequestError.fromAnswer(answer.error);
    return answer as RequestResult<E>;
  }

  /** Remembers what answers reveal, so a later catch-up or live delivery is not shown twice. */
  private observe<E extends RequestEvent>(
    event: E,
    payload: RequestPayload<E>,
    answer: RequestResult<E>,
  ) {
    if ("messages" in answer) {
      for (const m of answer.messages) this.seen.add(m.messageId);
      // Only the newest page is contiguous with the present; older pages say nothing of gaps.
      const p = payload as RequestPayload<"history:fetch">;
      const newest = answer.messages[0];
      if (event === "history:fetch" && !p.cursor && !p.before && newest) {
        this.track(p.conversationId);
        this.advanceUnlessSyncing(p.conversationId, newest.messageId);
      }
    }
    if ("conversation" in answer) this.trackConversation(answer.conversation);
    if (event === "conversations:list") {
      (answer as RequestResult<"conversations:list">).conversations.forEach((c) =>
        this.trackConversation(c),
      );
    }
  }

  private trackConversation(c: Conversation) {
    // Only a new conversation starts at its newest message: a tracked one would skip a gap.
    if (!this.cursors.has(c.conversationId)) this.track(c.conversationId, c.lastMessage?.messageId);
  }

  private accept(m: Message) {
    if (!this.seen.add(m.messageId)) return;
    this.track(m.conversationId);
    this.advanceUnlessSyncing(m.conversationId, m.messageId);
    this.emit("message", m);
  }

  private advanceUnlessSyncing(conversationId: string, messageId: string) {
    if (!this.syncing.has(conversationId)) return this.advance(conversationId, messageId);
    const held = this.deferred.get(conversationId);
    if (!held || compareMessageIds(messageId, held) > 0)
      this.deferred.set(conversationId, messageId);
  }

  private advance(conversationId: string, messageId: string) {
    const current = this.cursors.get(conversationId);
    if (!current || compareMessageIds(messageId, current) > 0) {
      this.cursors.set(conversationId, messageId);
    }
  }

  private onConnect() {
    this.everConnected = true;
    this.expired = false;
    this.refusals = 0;
    this.startCatchUp();
    // A new socket follows nobody until it subscribes.
    if (this.followed.length > 0) this.readPresence().catch(() => undefined);
    this.setStatus({ status: "connected" });
  }

  private startCatchUp() {
    // Taken before any later event is handled, so a live message cannot move a cursor past the
    // messages missed before it.
    const from = new Map(this.cursors);
    from.forEach((_, id) => this.syncing.add(id));
    void this.catchUp(from, ++this.catchUps);
  }

  private async catchUp(from: Map<string, string | null>, run: number) {
    const plan = await this.plan(from);
    let missed = 0;
    let changes = 0;
    for (const [conversationId, start] of from) {
      const todo = plan.todo.get(conversationId);
      for (let attempt = 0; todo; attempt++) {
        if (run !== this.catchUps) return; // a newer catch-up covers what is left
        try {
          // After a failed attempt, from what that attempt already passed on.
          const after = attempt === 0 ? start : (this.cursors.get(conversationId) ?? null);
          if (todo.messages) missed += await this.catchUpConversation(conversationId, after);
          if (todo.changesAfter) {
            changes += await this.catchUpChanges(conversationId, todo.changesAfter);
          }
          break;
        } catch (err) {
          // Refused (e.g. NOT_FOUND): asking again would not help; live messages still come.
          if (!(err instanceof RequestError) || !err.retryable) break;
          // The connection dropped: the next one catches up from the cursors kept so far.
          if (err.code === "DISCONNECTED" || this.state.status === "closed") return;
          // TIMEOUT, UNAVAILABLE, INTERNAL, RATE_LIMITED: the same request may succeed later.
          await sleep(err.retryAfterMs ?? this.retryDelay(attempt));
        }
      }
      this.syncing.delete(conversationId);
      const held = this.deferred.get(conversationId);
      if (held) this.advance(conversationId, held);
      this.deferred.delete(conversationId);
    }
    if (run !== this.catchUps) return;
    // Only a finished catch-up moves the position: an interrupted one is asked for again.
    if (plan.position) this.position = plan.position;
    this.emit("synced", { messages: missed, changes });
  }

  /**
   * What to fetch per conversation. With a position from the last catch-up, one `sync` names the
   * conversations that changed since; otherwise (the first time, or when sync fails) every
   * tracked conversation is read: its messages, and the changes since shortly before its cursor.
   */
  private async plan(from: Map<string, string | null>): Promise<CatchUpPlan> {
    const everything = (position?: string): CatchUpPlan => ({
      position,
      todo: new Map(
        [...from].map(([id, start]) => [
          id,
          {
            messages: true,
            // Nothing to re-read when all of it is read anew.
            changesAfter: start && minMessageIdAt(messageIdTime(start) - CATCH_UP_OVERLAP_MS),
          },
        ]),
      ),
    });
    try {
      // Taken before the walk, so nothing that changes during it falls before the position.
      if (!this.position) return everything((await this.call("sync", {})).position);
      const todo = new Map<string, CatchUpTodo>();
      let cursor: string | undefined;
      let page: RequestResult<"sync">;
      do {
        page = await this.call("sync", cursor ? { cursor } : { position: this.position });
        for (const { conversation: c, messages, changes } of page.conversations) {
          if (!this.cursors.has(c.conversationId)) {
            // New to this client (added to a group, a first message): listed, read when opened.
            this.trackConversation(c);
            this.emit("conversation", c);
          } else
            todo.set(c.conversationId, { messages, changesAfter: changes ? page.after : null });
        }
        for (const conversationId of page.removed) {
          this.cursors.delete(conversationId);
          this.emit("removed", { conversationId });
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return { position: page.position, todo };
    } catch {
      // A gateway without sync, or sync failing now: the slower walk is still complete.
      return everything();
    }
  }

  /** Passes on the messages changed after `after` (a time-based id); returns how many. */
  private async catchUpChanges(conversationId: string, after: string) {
    const limit = this.options.catchUpPageSize ?? 100;
    let changed = 0;
    let cursor: string | undefined;
    do {
      const page = await this.call("changes:since", { conversationId, after, cursor, limit });
      page.messages.forEach((m) => this.emit("changed", m));
      changed += page.messages.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return changed;
  }

  /** Passes on the messages after `after`, oldest first; returns how many were new. */
  private async catchUpConversation(conversationId: string, after: string | null) {
    const limit = this.options.catchUpPageSize ?? 100;
    let missed = 0;
    const pass = (m: Message) => {
      if (this.seen.add(m.messageId)) {
        missed++;
        this.emit("message", m);
      }
      this.advance(conversationId, m.messageId);
    };
    const from = after === null ? null : await this.overlapAnchor(conversationId, after);
    if (from === null) {
      // Nothing known, or everything stored is within the overlap: read it all, newest page first.
      const all: Message[] = [];
      let cursor: string | undefined;
      do {
        const page = await this.call("history:fetch", { conversationId, limit, cursor });
        all.push(...page.messages);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      all.reverse().forEach(pass);
      return missed;
    }
    for (let cursor = from, more = true; more;) {
      const page = await this.call("history:since", { conversationId, after: cursor, limit });
      page.messages.forEach(pass);
      cursor = page.messages.at(-1)?.messageId ?? cursor;
      more = page.hasMore && page.messages.length > 0;
    }
    return missed;
  }

  /** The newest stored message at least CATCH_UP_OVERLAP_MS older than `after`, if any. */
  private async overlapAnchor(conversationId: string, after: string): Promise<string | null> {
    const before = minMessageIdAt(messageIdTime(after) - CATCH_UP_OVERLAP_MS);
    const { messages } = await this.call("history:fetch", { conversationId, before, limit: 1 });
    return messages[0]?.messageId ?? null;
  }

  /**
   * Asks the token function for a new token and hands it to the socket, retrying failures a few
   * times before `expiresAt`. A refusal (UNAUTHORIZED, BAD_REQUEST) ends the tries: the session
   * then expires and the client reconnects with the next token, as without refresh.
   */
  private async refresh(expiresAt: number) {
    const { token } = this.options;
    if (typeof token !== "function") return;
    const run = ++this.refreshes;
    for (let attempt = 0; attempt < REFRESH_ATTEMPTS; attempt++) {
      if (run !== this.refreshes || !this.socket.connected) return;
      const left = expiresAt - Date.now();
      if (left <= 0) return;
      let pause = this.retryDelay(attempt);
      try {
        const fresh = await token();
        const timeoutMs = Math.min(this.options.requestTimeoutMs ?? 10_000, left);
        const answer = await this.call("auth:refresh", { token: fresh }, timeoutMs);
        return this.emit("refreshed", { expiresAt: answer.expiresAt });
      } catch (err) {
        if (err instanceof RequestError && !err.retryable) return;
        if (err instanceof RequestError && err.code === "DISCONNECTED") return;
        if (err instanceof RequestError && err.retryAfterMs) pause = err.retryAfterMs;
      }
      await sleep(Math.min(pause, Math.max(0, expiresAt - Date.now())));
    }
  }

  private onConnectError(err: Error & { data?: ConnectErrorData }) {
    if (this.state.status === "closed") return;
    const data = err.data;
    if (data?.code === "UNAUTHORIZED") {
      this.socket.disconnect();
      return this.setStatus({ status: "closed", reason: `UNAUTHORIZED: ${data.reason}` });
    }
    const status = this.everConnected ? "reconnecting" : "connecting";
    this.setStatus({ status, reason: data?.reason ?? err.message });
    // The manager retries failed transports itself, but not a refusal by a server that is up
    // (still starting, rate limited).
    if (!this.socket.active) {
      this.retryLater(data?.code === "RATE_LIMITED" ? data.retryAfterMs : undefined);
    }
  }

  private onDisconnect(reason: string) {
    if (this.state.status === "closed") return;
    if (this.expired && typeof this.options.token !== "function") {
      return this.setStatus({ status: "closed", reason: "session expired" });
    }
    this.setStatus({ status: "reconnecting", reason });
    // After "io server disconnect" the manager does not reconnect by itself.
    if (!this.socket.active) this.retryLater();
  }

  /** Reconnects after `afterMs` (the server's word) or the next back-off delay. */
  private retryLater(afterMs?: number) {
    clearTimeout(this.retryTimer);
    const delay = this.retryDelay(this.refusals++);
    this.retryTimer = setTimeout(
      () => {
        if (this.state.status !== "closed") this.socket.connect();
      },
      Math.max(afterMs ?? 0, delay),
    );
  }

  /** Exponential, capped, with jitter so many clients do not come back in step. */
  private retryDelay(attempt: number) {
    const base = this.options.retryDelayMs ?? 250;
    const ceiling = Math.min(MAX_RETRY_DELAY_MS, base * 2 ** Math.min(attempt, 16));
    return Math.round(ceiling * (0.5 + Math.random() / 2));
  }

  private setStatus(change: StatusChange) {
    const same = change.status === this.state.status && change.reason === this.state.reason;
    this.state = change;
    if (!same) this.emit("status", change);
  }

  private whenConnected(deadline: number): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    if (this.state.status === "closed") {
      return Promise.reject(new RequestError("DISCONNECTED", this.state.reason ?? "closed"));
    }
    return new Promise((resolve, reject) => {
      const finish = (err?: RequestError) => {
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve();
      };
      const wait = deadline - Date.now();
      const timer =
        wait === Infinity
          ? undefined
          : setTimeout(() => finish(new RequestError("TIMEOUT", "not connected in time")), wait);
      const off = this.on("status", ({ status, reason }) => {
        if (status === "connected") finish();
        else if (status === "closed") finish(new RequestError("DISCONNECTED", reason ?? "closed"));
      });
    });
  }
}
