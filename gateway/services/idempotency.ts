// A send is idempotent per (sender, clientMsgId): retries running at once on this node share one
// attempt, and across nodes the claim record decides which attempt's message id stands. The
// claim is marked committed once the message is stored and handed to fan-out, so a retry that
// finds it committed has nothing left to do, and one that finds it open stores and delivers again.
import { compareMessageIds } from "../../shared/message-id.js";
import type { Logger } from "../logger.js";
import type { ClientIdRepository } from "../storage/client-id-repository.js";
import type { ClientIdRecord, StoredMessage } from "../storage/records.js";

export class SendIdempotency {
  private readonly inflight = new Map<string, Promise<StoredMessage>>();

  constructor(
    private readonly clientIds: ClientIdRepository,
    private readonly log: Logger,
  ) {}

  /** Runs `attempt`, or waits for the one already running on this node for the same send. */
  async once(
    senderId: string,
    clientMsgId: string,
    attempt: () => Promise<StoredMessage>,
  ): Promise<StoredMessage> {
    const key = `${senderId}/${clientMsgId}`;
    const running = this.inflight.get(key);
    if (running) return running;
    const started = attempt();
    this.inflight.set(key, started);
    try {
      return await started;
    } finally {
      this.inflight.delete(key);
    }
  }

  /**
   * Claims the send for `message` while looking for an earlier attempt, in one round trip: an
   * earlier attempt's claim outlives ours, so whichever answers first, what the read finds is what
   * counts. Returns the earlier attempt's record, if there was one.
   */
  async claim(message: StoredMessage): Promise<ClientIdRecord | null> {
    const [prior] = await Promise.all([
      this.clientIds.find(message.senderId, message.clientMsgId),
      this.clientIds.claim(message),
    ]);
    return prior && compareMessageIds(prior.message.messageId, message.messageId) < 0
      ? prior
      : null;
  }

  /**
   * Marks the send finished, before its answer, so a retry after the answer (on any node)
   * delivers nothing again. If the mark fails, a retry re-applies the same idempotent writes.
   */
  async commit(message: StoredMessage): Promise<void> {
    await this.clientIds
      .commit(message)
      .catch((err: unknown) =>
        this.log.warn({ err }, "send not marked committed; a retry re-applies it"),
      );
  }
}
