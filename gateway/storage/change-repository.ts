// message_changes: which messages of a conversation changed when (edits, deletions, reactions),
// in buckets of the change's time, so a client that missed events can ask what changed since.
import type { Db, Statement } from "./cassandra.js";

export type ChangeRow = { changeId: string; messageId: string };

export class ChangeRepository {
  constructor(private readonly db: Db) {}

  record(conversationId: string, bucket: Date, change: ChangeRow): Statement {
    return {
      query:
        "INSERT INTO message_changes (conversation_id, bucket, change_id, message_id) VALUES (?, ?, ?, ?)",
      params: [conversationId, bucket, change.changeId, change.messageId],
    };
  }

  /** Up to `limit` changes of one bucket after `after` (exclusive), oldest first. */
  async after(
    conversationId: string,
    bucket: Date,
    after: string,
    limit: number,
  ): Promise<ChangeRow[]> {
    const rs = await this.db.execute(
      "SELECT change_id, message_id FROM message_changes WHERE conversation_id = ? AND bucket = ? AND change_id > ? LIMIT ?",
      [conversationId, bucket, after, limit],
    );
    return rs.rows.map((r) => ({
      changeId: String(r.get("change_id")),
      messageId: String(r.get("message_id")),
    }));
  }
}
