// Sending and reading messages: a send is stored whole (one append) before it is delivered, then
// marked finished, then acknowledged; history pages walk the conversation's time buckets.
import { z } from "zod";
import { messageIdTime, minMessageIdAt } from "../../shared/message-id.js";
import type { Message, SystemEvent } from "../../shared/protocol.js";
import type { ValidRequest } from "../../shared/schemas.js";
import { messageIdSchema } from "../../shared/schemas.js";
import { notFound } from "../errors.js";
import type { MessageStore } from "../storage/message-store.js";
import type { Direction, MessageRepository } from "../storage/message-repository.js";
import type { ConversationRecord, StoredMessage } from "../storage/records.js";
import type { ConversationService } from "./conversation-service.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import type { SendIdempotency } from "./idempotency.js";
import { bucketOf, newMessageId } from "./ids.js";
import { Lru } from "./lru.js";
import { replyPreview, type MessageViews } from "./message-view.js";
import type { FanOut } from "./ports.js";
import { toWire } from "./wire.js";

const historyCursor = z.object({ m: messageIdSchema });

export class MessageService {
  // Buckets this node has indexed: the index row is written with a bucket's first message only.
  private readonly bucketsIndexed = new Lru<string, true>(100_000);

  constructor(
    private readonly deps: {
      store: MessageStore;
      messageRows: MessageRepository;
      views: MessageViews;
      idempotency: SendIdempotency;
      conversations: ConversationService;
      fanOut: FanOut;
    },
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
    const { idempotency } = this.deps;
    return toWire(
      await idempotency.once(userId, req.clientMsgId, () => this.sendOnce(userId, req, socketId)),
    );
  }

  private async sendOnce(
    userId: string,
    req: ValidRequest<"message:send">,
    socketId?: string,
  ): Promise<StoredMessage> {
    const { conversations, idempotency, fanOut } = this.deps;
    let conversation =
      "conversationId" in req
        ? await conversations.requireParticipant(userId, req.conversationId)
        : await conversations.direct(userId, req.recipientId);
    // Only a reply reads before it writes: what it answers must be in the same conversation.
    const reply = req.replyTo ? await this.replyTo(conversation, req.replyTo) : {};
    const messageId = newMessageId();
    let message = withRecipient(
      {
        conversationId: conversation.conversationId,
        messageId,
        senderId: userId,
        clientMsgId: req.clientMsgId,
        content: req.content,
        sentAt: new Date(messageIdTime(messageId)).toISOString(),
        ...reply,
      },
      conversation,
    );
    const prior = await idempotency.claim(message);
    if (prior?.committed) return { ...prior.message, ...reply };
    if (prior) {
      // An interrupted send: finish it under its first id rather than store a second copy. The
      // claim does not keep what it answers; the retry carries it again.
      conversation = await conversations.requireParticipant(userId, prior.message.conversationId);
      message = withRecipient({ ...prior.message, ...reply }, conversation);
    }
    await this.append(conversation, message);
    fanOut.messageNew(conversation.participantIds, toWire(message), socketId);
    await idempotency.commit(message);
    return message;
  }

  /** Records a change of the group (members, title) in its history, and delivers it. */
  async system(c: ConversationRecord, actorId: string, event: SystemEvent): Promise<Message> {
    const messageId = newMessageId();
    const message: StoredMessage = {
      conversationId: c.conversationId,
      messageId,
      senderId: actorId,
      clientMsgId: `system-${messageId}`,
      content: describe(event),
      sentAt: new Date(messageIdTime(messageId)).toISOString(),
      system: event,
    };
    await this.append(c, message);
    this.deps.fanOut.messageNew(c.participantIds, toWire(message));
    return toWire(message);
  }

  private async replyTo(c: ConversationRecord, originalId: string) {
    const [original] = await this.deps.views.find(c, [originalId]);
    if (!original) throw notFound("replyTo: no such message in this conversation");
    return { replyToId: original.messageId, replyTo: replyPreview(original) };
  }

  private async append(c: ConversationRecord, message: StoredMessage) {
    const at = messageIdTime(message.messageId);
    const bucket = bucketOf(c, message.messageId);
    const bucketKey = `${c.conversationId}@${bucket.getTime()}`;
    const indexBucket = !this.bucketsIndexed.has(bucketKey);
    const inbox = this.deps.conversations.inboxEntry(c, at);
    await this.deps.store.append({ message, bucket, indexBucket, inbox });
    if (indexBucket) this.bucketsIndexed.set(bucketKey, true);
    if (inbox) this.deps.conversations.inboxWritten(inbox);
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
    const conversation = await this.deps.conversations.requireParticipant(
      userId,
      req.conversationId,
    );
    const found = await this.walk(conversation, "older", bound, req.limit + 1);
    const page = found.slice(0, req.limit);
    const last = page.at(-1);
    return {
      messages: await this.deps.views.forViewer(conversation, userId, page),
      nextCursor: found.length > req.limit && last ? encodeCursor({ m: last.messageId }) : null,
    };
  }

  async since(userId: string, req: ValidRequest<"history:since">) {
    const conversation = await this.deps.conversations.requireParticipant(
      userId,
      req.conversationId,
    );
    await this.requireMessage(conversation, req.after);
    const found = await this.walk(conversation, "newer", req.after, req.limit + 1);
    const page = found.slice(0, req.limit);
    return {
      messages: await this.deps.views.forViewer(conversation, userId, page),
      hasMore: found.length > req.limit,
    };
  }

  /** Records how far the user has read, once the message is known to be in the conversation. */
  async markRead(userId: string, req: ValidRequest<"message:read">): Promise<void> {
    const { conversations } = this.deps;
    const conversation = await conversations.requireParticipant(userId, req.conversationId);
    await this.requireMessage(conversation, req.messageId);
    await conversations.markRead(conversation, userId, req.messageId);
  }

  /** Up to `limit` messages beyond `bound`, crossing buckets in the given direction. */
  private async walk(
    c: ConversationRecord,
    direction: Direction,
    bound: string | null,
    limit: number,
  ): Promise<StoredMessage[]> {
    const { messageRows } = this.deps;
    const from = bound ? bucketOf(c, bound) : null;
    const found: StoredMessage[] = [];
    for await (const bucket of messageRows.buckets(c.conversationId, from, direction)) {
      const inFirst = from !== null && bucket.getTime() === from.getTime();
      found.push(
        ...(await messageRows.page(
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
    const bucket = bucketOf(c, messageId);
    if (!(await this.deps.messageRows.exists(c.conversationId, bucket, messageId))) {
      throw notFound("no such message in this conversation");
    }
  }
}

/** A system message's text, for clients that show content only (names are the ids' first part). */
function describe({ action, userIds, title }: SystemEvent): string {
  const who = userIds.map((id) => id.slice(0, 8)).join(", ");
  switch (action) {
    case "added":
      return `added ${who}`;
    case "removed":
      return `removed ${who}`;
    case "left":
      return "left the group";
    case "renamed":
      return `renamed the group to ${title ?? ""}`;
  }
}

function withRecipient(m: StoredMessage, c: ConversationRecord): StoredMessage {
  if (c.kind !== "direct") return m;
  const recipientId = c.participantIds.find((p) => p !== m.senderId);
  return recipientId ? { ...m, recipientId } : m;
}
