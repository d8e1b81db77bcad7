// Who is online, for those who share a conversation with them. Each node registers an instance
// of itself and lists the users it holds a socket of; a user is online while listed on any
// instance. The node that lists the first instance of a user, or takes off the last, announces
// the change once, to the sockets that follow that user. A node renews its instance every
// heartbeat; one that stops (killed) is swept by a surviving node after the TTL, which takes its
// users off and announces those now online nowhere. Nothing here is on the send path.
import { randomUUID } from "node:crypto";
import type { PresenceState } from "../../shared/protocol.js";
import type { ValidRequest } from "../../shared/schemas.js";
import type { PresenceConfig } from "../config.js";
import type { Logger } from "../logger.js";
import type { ConversationService } from "./conversation-service.js";
import type { PresenceChannel, PresenceStore } from "./ports.js";

/** Dead instances one sweep claims, and users it takes off per round trip. */
const SWEEP_INSTANCES = 10;
const SWEEP_BATCH = 500;

export class PresenceService {
  private instance: string;
  /** Sockets per user on this node; 0 while the last one's grace runs. */
  private readonly sockets = new Map<string, number>();
  private readonly grace = new Map<string, NodeJS.Timeout>();
  /** Users this node has listed under its instance (or is listing). */
  private readonly listed = new Set<string>();
  /** Users whose listing may differ from their sockets, reconciled at the next flush. */
  private readonly dirty = new Set<string>();
  private flushing: NodeJS.Immediate | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly deps: {
      store: PresenceStore;
      channel: PresenceChannel;
      conversations: ConversationService;
      config: PresenceConfig;
      nodeId: string;
      log: Logger;
    },
  ) {
    this.instance = this.newInstance();
  }

  private newInstance() {
    // A new one per start and per re-registration, so a sweep of an old one never takes off
    // what the new one lists.
    return `${this.deps.nodeId}:${randomUUID().slice(0, 8)}`;
  }

  /** Registers this node, then renews it and sweeps dead ones every heartbeat. */
  async start(): Promise<void> {
    // Should Redis not take it now, the first heartbeat registers this node.
    await this.deps.store
      .beat(this.instance, true)
      .catch((err: unknown) => this.deps.log.warn({ err }, "presence: could not register"));
    const tick = async () => {
      await this.heartbeat();
      if (!this.stopped) this.ticker = setTimeout(() => void tick(), this.deps.config.heartbeatMs);
    };
    this.ticker = setTimeout(() => void tick(), this.deps.config.heartbeatMs);
  }

  connected(userId: string) {
    if (this.stopped) return;
    const timer = this.grace.get(userId);
    if (timer) {
      // Back within the grace: still listed, nobody hears of it.
      clearTimeout(timer);
      this.grace.delete(userId);
    }
    this.sockets.set(userId, (this.sockets.get(userId) ?? 0) + 1);
    this.mark(userId);
  }

  disconnected(userId: string) {
    if (this.stopped) return;
    const left = (this.sockets.get(userId) ?? 1) - 1;
    this.sockets.set(userId, left);
    if (left > 0) return;
    // A page reload or a reconnect to this node must not flicker offline and online.
    this.grace.set(
      userId,
      setTimeout(() => {
        this.grace.delete(userId);
        if (this.sockets.get(userId) === 0) this.sockets.delete(userId);
        this.mark(userId);
      }, this.deps.config.offlineGraceMs),
    );
  }

  /**
   * The socket follows the participants of the conversations (the caller's own, NOT_FOUND
   * otherwise), up to the configured number of users, replacing whom it followed.
   */
  async subscribe(
    userId: string,
    socketId: string,
    req: ValidRequest<"presence:subscribe">,
  ): Promise<{ presence: PresenceState[] }> {
    const { conversations, channel, store, config } = this.deps;
    const records = await Promise.all(
      req.conversationIds.map((id) => conversations.requireParticipant(userId, id)),
    );
    const followed = new Set<string>();
    for (const c of records) {
      for (const p of c.participantIds) {
        if (followed.size >= config.maxUsers) break;
        if (p !== userId) followed.add(p);
      }
    }
    const users = [...followed];
    // Followed before it is read, so a change after the read reaches the socket as an event.
    channel.follow(socketId, users);
    return { presence: await store.states(users) };
  }

  /** Stops announcing; the other nodes sweep this one at their next heartbeat. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.ticker);
    clearImmediate(this.flushing);
    for (const timer of this.grace.values()) clearTimeout(timer);
    // Its users are not taken off one by one: those who reconnect to another node before the
    // sweep never appear offline.
    await this.deps.store
      .expire(this.instance)
      .catch((err: unknown) => this.deps.log.warn({ err }, "presence: could not expire this node"));
  }

  private mark(userId: string) {
    this.dirty.add(userId);
    // Connections of one moment (a reconnect storm) are listed together.
    this.flushing ??= setImmediate(() => {
      this.flushing = undefined;
      void this.flush();
    });
  }

  private async flush() {
    const joining: string[] = [];
    const leaving: string[] = [];
    for (const u of this.dirty) {
      const wanted = this.sockets.has(u);
      if (wanted && !this.listed.has(u)) joining.push(u);
      if (!wanted && this.listed.has(u)) leaving.push(u);
    }
    this.dirty.clear();
    for (const u of joining) this.listed.add(u);
    for (const u of leaving) this.listed.delete(u);
    const { store, channel, log } = this.deps;
    const instance = this.instance;
    const at = new Date();
    await Promise.all([
      store.join(instance, joining).then(
        (online) => online.forEach((userId) => channel.announce({ userId, online: true })),
        (err: unknown) => this.retry(joining, false, err),
      ),
      store.leave(instance, leaving, at).then(
        (offline) =>
          offline.forEach((userId) =>
            channel.announce({ userId, online: false, lastSeen: at.toISOString() }),
          ),
        (err: unknown) => this.retry(leaving, true, err),
      ),
    ]).catch((err: unknown) => log.error({ err }, "presence: flush failed"));
  }

  /** A listing that Redis did not take is tried again at the next heartbeat. */
  private retry(users: string[], wereListed: boolean, err: unknown) {
    if (users.length === 0) return;
    this.deps.log.warn({ err, users: users.length }, "presence: not recorded; retrying");
    for (const u of users) {
      if (wereListed) this.listed.add(u);
      else this.listed.delete(u);
      this.dirty.add(u);
    }
  }

  private async heartbeat() {
    const { store, log } = this.deps;
    try {
      if (!(await store.beat(this.instance, false)) && !this.stopped) {
        // Swept while alive (Redis or this process stalled past the TTL): list everyone again
        // under a new instance; those the sweep announced offline are announced online.
        log.warn({ instance: this.instance }, "presence: this node was swept; registering again");
        this.instance = this.newInstance();
        await store.beat(this.instance, true);
        this.listed.clear();
        for (const u of this.sockets.keys()) this.dirty.add(u);
      }
      if (this.dirty.size > 0) await this.flush();
      await this.sweep();
    } catch (err) {
      log.warn({ err }, "presence: heartbeat failed");
    }
  }

  /** Takes the users of dead instances off, announcing those now online nowhere. */
  private async sweep() {
    const { store, channel, log } = this.deps;
    for (const { instance, lastSeen } of await store.claimDead(SWEEP_INSTANCES)) {
      let swept = 0;
      for (;;) {
        const users = await store.usersOf(instance, SWEEP_BATCH);
        if (users.length === 0) break;
        const offline = await store.leave(instance, users, lastSeen);
        for (const userId of offline) {
          channel.announce({ userId, online: false, lastSeen: lastSeen.toISOString() });
        }
        swept += users.length;
      }
      await store.forget(instance);
      log.info({ instance, users: swept }, "presence: swept a node that stopped renewing");
    }
  }
}
