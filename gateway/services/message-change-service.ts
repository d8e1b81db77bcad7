// Changing stored messages: edits and deletion (by the sender only), reactions (by any
// participant), and the feed of changes a client that missed their events catches up from.
// Each change is stored before it is announced, like a send; repeating a request that failed
// midway writes the same rows again and announces it again.
import { z } from "zod";
import { CHANGE_RETENTION_DAYS, MAX_EDITS } from "../../shared/limits.js";
import { messageIdTime } from "../../shared/message-id.js";
import type { Message } from "../../shared/protocol.js";
import { messageIdSchema, type ValidRequest } from "../../shared/schemas.js";
import { badRequest, forbidden, notFound } from "../errors.js";
import type { ChangeRepository } from "../storage/change-repository.js";
import type { ChangeEntry, MessageChangeStore } from "../storage/message-change-store.js";
import type { ReactionRepository } from "../storage/reaction-repository.js";
import type { ConversationRecord, MessageState, StoredMessage } from "../storage/records.js";
import type { ConversationService } from "./conversation-service.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { bucketOf, newMessageId, windowStart } from "./ids.js";
import type { MessageViews } from "./message-view.js";
import type { FanOut } from "./ports.js";

/** The change feed's buckets: a day of changes per conversation and partition. */
const CHANGE_BUCKET_MS = 86_400_000;
const RETENTION_MS = CHANGE_RETENTION_DAYS * CHANGE_BUCKET_MS;
/** A deletion's version: above every edit's, so it outranks an edit racing it. */
export const DELETED_VERSION = MAX_EDITS + 1;

const changesCursor = z.object({ c: messageIdSchema });

type Ref = ValidRequest<"message:delete">;

export class MessageChangeService {
  constructor(
    private readonly deps: {
      store: MessageChangeStore;
      changes: ChangeRepository;
      reactions: ReactionRepository;
      views: MessageViews;
      conversations: ConversationService;
      fanOut: FanOut;
    },
  ) {}

  async edit(userId: string, req: ValidRequest<"message:edit">, socketId?: string) {
    const { c, m } = await this.own(userId, req, "edit");
    const repeat = m.content === req.content;
    // Unchanged and never edited: nothing to store or announce.
    if (repeat && !m.version) return this.answer(c, userId, m);
    // The same content again repeats the last edit (a retry), at its version and time.
    const version = repeat ? (m.version ?? 0) : (m.version ?? 0) + 1;
    if (version > MAX_EDITS) throw badRequest(`a message can be edited at most ${MAX_EDITS} times`);
    const editedAt = (repeat && m.editedAt) || new Date().toISOString();
    const state: MessageState = { content: req.content, editedAt, version };
    const edited = await this.store(c, m, state);
    const { conversationId, messageId } = m;
    this.deps.fanOut.notify(
      c.participantIds,
      {
        event: "message:edited",
        payload: { conversationId, messageId, content: req.content, editedAt, version },
      },
      socketId,
    );
    return this.answer(c, userId, edited);
  }

  /** Deletes for everyone: the content is overwritten in storage, a placeholder stays in place. */
  async delete(userId: string, req: Ref, socketId?: string) {
    const { c, m } = await this.own(userId, req, "delete", true);
    const state: MessageState = { content: "", deleted: true, version: DELETED_VERSION };
    const deleted = await this.store(c, m, state);
    const { conversationId, messageId } = m;
    this.deps.fanOut.notify(
      c.participantIds,
      {
        event: "message:deleted",
        payload: { conversationId, messageId, version: DELETED_VERSION },
      },
      socketId,
    );
    return this.answer(c, userId, deleted);
  }

  async react(
    userId: string,
    req: ValidRequest<"reaction:add">,
    added: boolean,
    socketId?: string,
  ) {
    const { c, m } = await this.find(userId, req);
    if (m.deleted) throw notFound("the message was deleted");
    const { emoji } = req;
    const { conversationId, messageId } = m;
    const at = { conversationId, bucket: bucketOf(c, messageId), messageId };
    const touch = this.deps.conversations.touch(c, new Date());
    await this.deps.store.react(at, { emoji, userId, added }, this.newChange(messageId), touch);
    this.deps.conversations.touched(touch);
    const count = await this.deps.reactions.count(at, emoji);
    this.deps.fanOut.notify(
      c.participantIds,
      { event: "reaction", payload: { conversationId, messageId, userId, emoji, added, count } },
      socketId,
    );
    return this.answer(c, userId, m);
  }

  /**
   * The messages changed after `after` (or the cursor), as they are now, in the order of their
   * latest change. Changes older than CHANGE_RETENTION_DAYS are no longer listed.
   */
  async since(userId: string, req: ValidRequest<"changes:since">) {
    const bound = req.cursor ? decodeCursor(req.cursor, changesCursor).c : req.after;
    const c = await this.deps.conversations.requireParticipant(userId, req.conversationId);
    const now = Date.now();
    const start = Math.max(messageIdTime(bound), now - RETENTION_MS);
    const found: { changeId: string; messageId: string }[] = [];
    for (
      let bucket = windowStart(start, CHANGE_BUCKET_MS).getTime();
      bucket <= now && found.length < req.limit;
      bucket += CHANGE_BUCKET_MS
    ) {
      const rows = await this.deps.changes.after(
        c.conversationId,
        new Date(bucket),
        bound,
        req.limit - found.length,
      );
      found.push(...rows);
    }
    // Latest change last: a message changed twice in the page is listed once, at its last.
    const latest = new Set<string>();
    for (const { messageId } of found) {
      latest.delete(messageId);
      latest.add(messageId);
    }
    const order = [...latest];
    const stored = new Map((await this.deps.views.find(c, order)).map((m) => [m.messageId, m]));
    const messages = order.flatMap((id) => stored.get(id) ?? []);
    const last = found.at(-1);
    return {
      messages: await this.deps.views.forViewer(c, userId, messages),
      nextCursor: found.length >= req.limit && last ? encodeCursor({ c: last.changeId }) : null,
    };
  }

  /** The message, if the user takes part in its conversation. */
  private async find(userId: string, req: Ref) {
    const c = await this.deps.conversations.requireParticipant(userId, req.conversationId);
    const [m] = await this.deps.views.find(c, [req.messageId]);
    if (!m) throw notFound("no such message in this conversation");
    return { c, m };
  }

  /** The message, if the user sent it; a deleted one only when `orDeleted` (deleting again). */
  private async own(userId: string, req: Ref, action: string, orDeleted = false) {
    const found = await this.find(userId, req);
    if (found.m.senderId !== userId) throw forbidden(`only its sender can ${action} a message`);
    if (found.m.deleted && !orDeleted) throw notFound("the message was deleted");
    if (found.m.system) throw badRequest(`a system message cannot be changed`);
    return found;
  }

  private async store(c: ConversationRecord, m: StoredMessage, state: MessageState) {
    const { conversations, store } = this.deps;
    const isNewest = await conversations.isNewest(c.conversationId, m.messageId);
    const touch = conversations.touch(c, new Date());
    const change = this.newChange(m.messageId);
    await store.setState(m, bucketOf(c, m.messageId), state, change, isNewest, touch);
    conversations.touched(touch);
    return { ...m, ...state };
  }

  private newChange(messageId: string): ChangeEntry {
    const changeId = newMessageId();
    return { bucket: windowStart(messageIdTime(changeId), CHANGE_BUCKET_MS), changeId, messageId };
  }

  private async answer(c: ConversationRecord, userId: string, m: StoredMessage) {
    const [message] = await this.deps.views.forViewer(c, userId, [m]);
    return { message: message as Message };
  }
}
