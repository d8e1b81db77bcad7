// reactions_by_message: one row per (message, emoji, user), so counts are exact however many
// users react at once, and adding the same reaction twice stores it once.
import type { Db } from "./cassandra.js";

export type ReactionRow = { messageId: string; emoji: string; userId: string };

/** Where a message's reactions live: its conversation and its bucket. */
export type MessageAt = { conversationId: string; bucket: Date; messageId: string };

export class ReactionRepository {
  constructor(private readonly db: Db) {}

  async add(at: MessageAt, emoji: string, userId: string): Promise<void> {
    await this.db.execute(
      "INSERT INTO reactions_by_message (conversation_id, bucket, message_id, emoji, user_id) VALUES (?, ?, ?, ?, ?)",
      [at.conversationId, at.bucket, at.messageId, emoji, userId],
    );
  }

  async remove(at: MessageAt, emoji: string, userId: string): Promise<void> {
    await this.db.execute(
      "DELETE FROM reactions_by_message WHERE conversation_id = ? AND bucket = ? AND message_id = ? AND emoji = ? AND user_id = ?",
      [at.conversationId, at.bucket, at.messageId, emoji, userId],
    );
  }

  /** How many users reacted to the message with `emoji`. */
  async count(at: MessageAt, emoji: string): Promise<number> {
    const row = await this.db.first(
      "SELECT COUNT(*) AS n FROM reactions_by_message WHERE conversation_id = ? AND bucket = ? AND message_id = ? AND emoji = ?",
      [at.conversationId, at.bucket, at.messageId, emoji],
    );
    return Number(row?.get("n") ?? 0);
  }

  /** Every reaction to the bucket's messages from `first` to `last` (both included). */
  async between(
    conversationId: string,
    bucket: Date,
    first: string,
    last: string,
  ): Promise<ReactionRow[]> {
    const found: ReactionRow[] = [];
    for await (const r of this.db.rows(
      `SELECT message_id, emoji, user_id FROM reactions_by_message
       WHERE conversation_id = ? AND bucket = ? AND message_id >= ? AND message_id <= ?`,
      [conversationId, bucket, first, last],
      1000,
    )) {
      found.push({
        messageId: String(r.get("message_id")),
        emoji: r.get("emoji") as string,
        userId: String(r.get("user_id")),
      });
    }
    return found;
  }
}
