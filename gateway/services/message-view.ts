// Stored messages as a participant sees them: with their reactions (counted, and whether the
// viewer is among them) and a preview of the message each one answers, as that message is now.
import { compareMessageIds } from "../../shared/message-id.js";
import { REPLY_PREVIEW_CHARS } from "../../shared/limits.js";
import type { Message, ReactionCount, ReplyPreview } from "../../shared/protocol.js";
import type { MessageRepository } from "../storage/message-repository.js";
import type { ReactionRepository, ReactionRow } from "../storage/reaction-repository.js";
import type { ConversationRecord, StoredMessage } from "../storage/records.js";
import { bucketOf } from "./ids.js";
import { toWire } from "./wire.js";

export function replyPreview(original: StoredMessage): ReplyPreview {
  const { messageId, senderId } = original;
  return original.deleted
    ? { messageId, senderId, preview: "", deleted: true }
    : {
        messageId,
        senderId,
        preview: [...original.content].slice(0, REPLY_PREVIEW_CHARS).join(""),
      };
}

function countReactions(rows: ReactionRow[], viewerId: string): ReactionCount[] {
  const counts = new Map<string, ReactionCount>();
  for (const { emoji, userId } of rows) {
    const c = counts.get(emoji) ?? { emoji, count: 0, me: false };
    c.count++;
    c.me ||= userId === viewerId;
    counts.set(emoji, c);
  }
  return [...counts.values()];
}

function groupBy<K, V>(items: Iterable<V>, keyOf: (item: V) => K): Map<K, V[]> {
  const groups = new Map<K, V[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** Ids grouped by the bucket of the conversation that holds them. */
const byBucket = (c: ConversationRecord, ids: Iterable<string>) =>
  groupBy(ids, (id) => bucketOf(c, id).getTime());

export class MessageViews {
  constructor(
    private readonly rows: MessageRepository,
    private readonly reactions: ReactionRepository,
  ) {}

  /** What `viewerId` is shown of these messages of conversation `c`, in the same order. */
  async forViewer(
    c: ConversationRecord,
    viewerId: string,
    messages: StoredMessage[],
  ): Promise<Message[]> {
    if (messages.length === 0) return [];
    const [reactions, originals] = await Promise.all([
      this.reactionsOf(c, messages),
      this.originalsOf(c, messages),
    ]);
    return messages.map((m) => {
      // A deleted message is a placeholder: no content, nothing it answers, no reactions.
      if (m.deleted) return toWire({ ...m, replyToId: undefined });
      const original = m.replyToId ? originals.get(m.replyToId) : undefined;
      const own = reactions.get(m.messageId);
      return toWire(
        original ? { ...m, replyTo: replyPreview(original) } : m,
        own && countReactions(own, viewerId),
      );
    });
  }

  /** The stored messages among `ids` (absent ones left out). */
  async find(c: ConversationRecord, ids: Iterable<string>): Promise<StoredMessage[]> {
    const groups = [...byBucket(c, ids)];
    const found = await Promise.all(
      groups.map(([bucket, group]) => this.rows.find(c.conversationId, new Date(bucket), group)),
    );
    return found.flat();
  }

  private async reactionsOf(c: ConversationRecord, messages: StoredMessage[]) {
    const groups = [
      ...byBucket(
        c,
        messages.map((m) => m.messageId),
      ),
    ];
    const found = await Promise.all(
      groups.map(([bucket, ids]) => {
        const sorted = ids.sort(compareMessageIds);
        return this.reactions.between(
          c.conversationId,
          new Date(bucket),
          sorted[0] as string,
          sorted.at(-1) as string,
        );
      }),
    );
    // By message, so a page of 100 messages does not scan every reaction 100 times.
    return groupBy(found.flat(), (r) => r.messageId);
  }

  private async originalsOf(c: ConversationRecord, messages: StoredMessage[]) {
    const ids = new Set(messages.flatMap((m) => (m.replyToId && !m.deleted ? [m.replyToId] : [])));
    if (ids.size === 0) return new Map<string, StoredMessage>();
    return new Map((await this.find(c, ids)).map((m) => [m.messageId, m]));
  }
}
