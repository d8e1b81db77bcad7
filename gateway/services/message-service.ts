import { z } from "zod";
import { compareMessageIds, messageIdTime, minMessageIdAt } from "../../shared/message-id.js";
import type { Message, ReceiptEvent } from "../../shared/protocol.js";
import type { ValidRequest } from "../../shared/schemas.js";
import { messageIdSchema } from "../../shared/schemas.js";
import { notFound } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ConversationRepository } from "../storage/conversation-repository.js";
import type { Direction, MessageRepository } from "../storage/message-repository.js";
import type { ConversationRecord, StoredMessage } from "../storage/records.js";
import type { ConversationService } from "./conversation-service.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { canonicalPair, newMessageId, windowStart, writeMicros } from "./ids.js";
import { Lru } from "./lru.js";
import type { FanOut } from "./ports.js";

const historyCursor = z.object({ m: messageIdSchema });

export const toWire = ({ recipientId: _, ...message }: StoredMessage): Message => message;

export class MessageService {
  // Concurrent retries of one send on this node wait for the first instead of racing it.
  private readonly inflight = new Map<string, Promise<StoredMessage>>();
  private readonly bucketsWritten = new Lru<string, true>(100_000);

  constructor(
    private readonly messages: MessageRepository,
    private readonly conversationRepo: ConversationRepository,
    private readonly conversations: ConversationService,
    private readonly fanOut: FanOut,
    private readonly log: Logger,
  ) {}

  /**
   * Stores the message and every row derived from it, then delivers it. Resolves only once it is
   * durable; a retry with the same clientMsgId resolves to the first message.
   */
  async send(
    userId: string,
    req: ValidRequest<"message:send">,
    socketId?: string,
  ): Promise<Message> {
    const key = `${userId}/${req.clientMsgId}`;
    const running = this.inflight.get(key);
    if (running) return toWire(await running);
    const attempt = this.sendOnce(userId, req, socketId);
    this.inflight.set(key, attempt);
    try {
      return toWire(await attempt);
    } finally {
      this.inflight.delete(key);
    }
  }

  private async sendOnce(
    userId: string,
    req: ValidRequest<"message:send">,
    socketId?: string,
  ): Promise<StoredMessage> {
    let conversation =
      "conversationId" in req
        ? await this.conversations.requireParticipant(userId, req.conversationId)
        : await this.conversations.direct(userId, req.recipientId);
    const messageId = newMessageId();
    let message = withRecipient(
      {
        conversationId: conversation.conversationId,
        messageId,
        senderId: userId,
        clientMsgId: req.clientMsgId,
        content: req.content,
        sentAt: new Date(messageIdTime(messageId)).toISOString(),
      },
      conversation,
    );
    // Claimed while looking for an earlier attempt, in one round trip: an earlier attempt's claim
    // outlives ours, so whichever answers first, what the read finds is what counts.
    const [prior] = await Promise.all([
      this.messages.findByClientId(userId, req.clientMsgId),
      this.messages.claimClientId(message),
    ]);
    if (prior && compareMessageIds(prior.message.messageId, messageId) < 0) {
      if (prior.committed) return prior.message;
      // An interrupted send: finish it under its first id rather than store a second copy.
      conversation = await this.conversations.requireParticipant(
        userId,
        prior.message.conversationId,
      );
      message = withRecipient(prior.message, conversation);
    }

    await this.persist(conversation, message);
    this.fanOut.messageNew(conversation.participantIds, toWire(message), socketId);
    // Marked before the ack, so a retry after it (on any node) finds the send finished and
    // delivers nothing again. If the mark fails, a retry re-applies the same idempotent writes.
    await this.messages
      .commitClientId(message)
      .catch((err: unknown) =>
        this.log.warn({ err }, "send not marked committed; a retry re-applies it"),
      );
    return message;
  }

  private async persist(conversation: ConversationRecord, m: StoredMessage) {
    const at = new Date(m.sentAt);
    const bucket = windowStart(at.getTime(), conversation.bucketMs);
    const bucketKey = `${m.conversationId}@${bucket.getTime()}`;
    // Index rows first, so the conversation's new position and bucket are findable before any
    // reader can see the message they lead to.
    await Promise.all([
      this.bucketsWritten.has(bucketKey)
        ? undefined
        : this.messages.addBucket(m.conversationId, bucket).then(() => {
            this.bucketsWritten.set(bucketKey, true);
          }),
      this.conversations.ensureInbox(conversation, at),
    ]);
    await Promise.all([
      this.messages.insert(m, bucket),
      conversation.kind === "direct"
        ? this.messages.insertForPair(
            canonicalPair(
              conversation.participantIds[0] ?? "",
              conversation.participantIds[1] ?? "",
            ),
            bucket,
            m,
          )
        : undefined,
      this.conversationRepo.setLastMessage(m.conversationId, m, writeMicros(m.messageId)),
    ]);
  }

  async history(userId: string, req: ValidRequest<"history:fetch">) {
    // The cursor is part of the payload: a bad one is BAD_REQUEST before anything is looked up.
    let bound: string | null = null;
    if (req.cursor) bound = decodeCursor(req.cursor, historyCursor).m;
    else if (req.before) {
      bound = messageIdSchema.safeParse(req.before).success
        ? req.before
        : minMessageIdAt(Date.parse(req.before));
    }
    const conversation = await this.conversations.requireParticipant(userId, req.conversationId);
    const found = await this.walk(conversation, "older", bound, req.limit + 1);
    const page = found.slice(0, req.limit);
    const last = page.at(-1);
    return {
      messages: page.map(toWire),
      nextCursor: found.length > req.limit && last ? encodeCursor({ m: last.messageId }) : null,
    };
  }

  async since(userId: string, req: ValidRequest<"history:since">) {
    const conversation = await this.conversations.requireParticipant(userId, req.conversationId);
    await this.requireMessage(conversation, req.after);
    const found = await this.walk(conversation, "newer", req.after, req.limit + 1);
    return { messages: found.slice(0, req.limit).map(toWire), hasMore: found.length > req.limit };
  }

  /** Up to `limit` messages beyond `bound`, crossing buckets in the given direction. */
  private async walk(
    c: ConversationRecord,
    direction: Direction,
    bound: string | null,
    limit: number,
  ): Promise<StoredMessage[]> {
    const from = bound ? windowStart(messageIdTime(bound), c.bucketMs) : null;
    const found: StoredMessage[] = [];
    for await (const bucket of this.messages.buckets(c.conversationId, from, direction)) {
      const inFirst = from !== null && bucket.getTime() === from.getTime();
      found.push(
        ...(await this.messages.page(
          c.conversationId,
          bucket,
          direction,
          inFirst ? bound : null,
          limit - found.length,
        )),
      );
      if (found.length >= limit) break;
    }
    return found;
  }

  private async requireMessage(c: ConversationRecord, messageId: string) {
    const bucket = windowStart(messageIdTime(messageId), c.bucketMs);
    if (!(await this.messages.exists(c.conversationId, bucket, messageId))) {
      throw notFound("no such message in this conversation");
    }
  }

  async markRead(userId: string, req: ValidRequest<"message:read">): Promise<void> {
    const conversation = await this.conversations.requireParticipant(userId, req.conversationId);
    await this.requireMessage(conversation, req.messageId);
    const readAt = new Date();
    await this.conversationRepo.setReadPosition(
      conversation.conversationId,
      userId,
      req.messageId,
      readAt,
      writeMicros(req.messageId),
    );
    const receipt: ReceiptEvent = {
      conversationId: conversation.conversationId,
      userId,
      messageId: req.messageId,
      readAt: readAt.toISOString(),
    };
    this.fanOut.receipt(others(conversation, userId), receipt);
  }

  async typing(userId: string, req: ValidRequest<"typing">): Promise<void> {
    const conversation = await this.conversations.requireParticipant(userId, req.conversationId);
    this.fanOut.typing(others(conversation, userId), {
      conversationId: conversation.conversationId,
      userId,
      typing: req.typing,
    });
  }
}

const others = (c: ConversationRecord, userId: string) =>
  c.participantIds.filter((p) => p !== userId);

function withRecipient(m: StoredMessage, c: ConversationRecord): StoredMessage {
  if (c.kind !== "direct") return m;
  const recipientId = others(c, m.senderId)[0];
  return recipientId ? { ...m, recipientId } : m;
}
