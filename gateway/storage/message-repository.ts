// messages_by_conversation and its bucket index: the message rows and the history reads.
import type { Db, Row, Statement } from "./cassandra.js";
import type { StoredMessage } from "./records.js";

const str = (v: unknown) => String(v);

export type Direction = "older" | "newer";

function toMessage(r: Row, conversationId: string): StoredMessage {
  const id = r.get("message_id") as { toString(): string; getDate(): Date };
  const recipient = r.get("recipient_id");
  return {
    conversationId,
    messageId: id.toString(),
    senderId: str(r.get("sender_id")),
    clientMsgId: r.get("client_msg_id") as string,
    content: r.get("content") as string,
    sentAt: id.getDate().toISOString(),
    ...(recipient ? { recipientId: str(recipient) } : {}),
  };
}

export class MessageRepository {
  constructor(private readonly db: Db) {}

  insert(m: StoredMessage, bucket: Date): Statement {
    // Absent columns are left unset rather than written as null, which would be a tombstone.
    const [columns, values] = m.recipientId ? [", recipient_id", [m.recipientId]] : ["", []];
    return {
      query: `INSERT INTO messages_by_conversation (conversation_id, bucket, message_id, sender_id, client_msg_id, content${columns})
              VALUES (?, ?, ?, ?, ?, ?${values.length ? ", ?" : ""})`,
      params: [
        m.conversationId,
        bucket,
        m.messageId,
        m.senderId,
        m.clientMsgId,
        m.content,
        ...values,
      ],
    };
  }

  addBucket(conversationId: string, bucket: Date): Statement {
    return {
      query: "INSERT INTO message_buckets_by_conversation (conversation_id, bucket) VALUES (?, ?)",
      params: [conversationId, bucket],
    };
  }

  /** Non-empty buckets from `from` (inclusive): older ones newest first, or newer ones oldest first. */
  async *buckets(
    conversationId: string,
    from: Date | null,
    direction: Direction,
  ): AsyncGenerator<Date> {
    const query =
      direction === "older"
        ? from
          ? "SELECT bucket FROM message_buckets_by_conversation WHERE conversation_id = ? AND bucket <= ?"
          : "SELECT bucket FROM message_buckets_by_conversation WHERE conversation_id = ?"
        : "SELECT bucket FROM message_buckets_by_conversation WHERE conversation_id = ? AND bucket >= ? ORDER BY bucket ASC";
    const params = from ? [conversationId, from] : [conversationId];
    for await (const r of this.db.rows(query, params, 100)) yield r.get("bucket") as Date;
  }

  /**
   * One bucket's messages beyond `bound` (exclusive; none means from the newest), newest first
   * for "older", oldest first for "newer".
   */
  async page(
    conversationId: string,
    bucket: Date,
    direction: Direction,
    bound: string | null,
    limit: number,
  ): Promise<StoredMessage[]> {
    const base = "SELECT * FROM messages_by_conversation WHERE conversation_id = ? AND bucket = ?";
    const [clause, params] =
      direction === "older"
        ? bound
          ? [" AND message_id < ?", [bound]]
          : ["", []]
        : bound
          ? [" AND message_id > ? ORDER BY message_id ASC", [bound]]
          : [" ORDER BY message_id ASC", []];
    const rs = await this.db.execute(`${base}${clause} LIMIT ?`, [
      conversationId,
      bucket,
      ...params,
      limit,
    ]);
    return rs.rows.map((r) => toMessage(r, conversationId));
  }

  async exists(conversationId: string, bucket: Date, messageId: string): Promise<boolean> {
    const rs = await this.db.execute(
      "SELECT message_id FROM messages_by_conversation WHERE conversation_id = ? AND bucket = ? AND message_id = ?",
      [conversationId, bucket, messageId],
    );
    return rs.rowLength > 0;
  }
}
