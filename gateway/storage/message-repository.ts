import cassandra from "cassandra-driver";
import { messageIdTicks } from "../../shared/message-id.js";
import type { Db, Row } from "./cassandra.js";
import type { ClientIdRecord, StoredMessage } from "./records.js";

const str = (v: unknown) => String(v);

export type Direction = "older" | "newer";

// Claim timestamps count down as message ids count up, in the ids' own 100 ns steps (ids made
// one after the other on a node can share a microsecond): earlier attempt, higher timestamp. Two
// per step leave room for the commit mark (+1) below the next earlier claim. Only this table is
// written this way; nothing there is ever written at wall-clock time or deleted.
const CLAIM_BASE = 1n << 62n;
const claimTimestamp = (messageId: string, mark: 0n | 1n) =>
  cassandra.types.Long.fromString(String(CLAIM_BASE - 2n * messageIdTicks(messageId) + mark));

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

  async findByClientId(senderId: string, clientMsgId: string): Promise<ClientIdRecord | null> {
    const row = (
      await this.db.execute(
        "SELECT * FROM messages_by_client_id WHERE sender_id = ? AND client_msg_id = ?",
        [senderId, clientMsgId],
      )
    ).first();
    if (!row) return null;
    const id = row.get("message_id") as { toString(): string; getDate(): Date };
    return {
      committed: row.get("committed") === true,
      message: {
        conversationId: str(row.get("conversation_id")),
        messageId: id.toString(),
        senderId,
        clientMsgId,
        content: row.get("content") as string,
        sentAt: id.getDate().toISOString(),
      },
    };
  }

  /**
   * Claims (sender, clientMsgId) for `m`, uncommitted. Safe to issue before knowing whether the
   * send is a retry: when two attempts race, the one with the earlier message id keeps the record
   * whatever order the writes land in, so a claim never replaces an earlier attempt's.
   */
  async claimClientId(m: StoredMessage) {
    await this.db.execute(
      `INSERT INTO messages_by_client_id (sender_id, client_msg_id, conversation_id, message_id, content, committed)
       VALUES (?, ?, ?, ?, ?, false) USING TIMESTAMP ?`,
      [
        m.senderId,
        m.clientMsgId,
        m.conversationId,
        m.messageId,
        m.content,
        claimTimestamp(m.messageId, 0n),
      ],
    );
  }

  /** Marks the claim of `m` committed; a later attempt's claim cannot undo it. */
  async commitClientId(m: StoredMessage) {
    await this.db.execute(
      `UPDATE messages_by_client_id USING TIMESTAMP ? SET committed = true
       WHERE sender_id = ? AND client_msg_id = ?`,
      [claimTimestamp(m.messageId, 1n), m.senderId, m.clientMsgId],
    );
  }

  async insert(m: StoredMessage, bucket: Date) {
    // Absent columns are left unset rather than written as null, which would be a tombstone.
    const [columns, values] = m.recipientId ? [", recipient_id", [m.recipientId]] : ["", []];
    await this.db.execute(
      `INSERT INTO messages_by_conversation (conversation_id, bucket, message_id, sender_id, client_msg_id, content${columns})
       VALUES (?, ?, ?, ?, ?, ?${values.length ? ", ?" : ""})`,
      [m.conversationId, bucket, m.messageId, m.senderId, m.clientMsgId, m.content, ...values],
    );
  }

  async insertForPair(pair: readonly [string, string], bucket: Date, m: StoredMessage) {
    await this.db.execute(
      `INSERT INTO messages_by_user_pair (user1_id, user2_id, bucket, message_id, conversation_id, sender_id, content)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [pair[0], pair[1], bucket, m.messageId, m.conversationId, m.senderId, m.content],
    );
  }

  async addBucket(conversationId: string, bucket: Date) {
    await this.db.execute(
      "INSERT INTO message_buckets_by_conversation (conversation_id, bucket) VALUES (?, ?)",
      [conversationId, bucket],
    );
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

  /** One bucket of a user pair's direct messages, newest first. */
  async pairPage(pair: readonly [string, string], bucket: Date, limit: number) {
    const rs = await this.db.execute(
      "SELECT message_id, conversation_id, sender_id, content FROM messages_by_user_pair WHERE user1_id = ? AND user2_id = ? AND bucket = ? LIMIT ?",
      [pair[0], pair[1], bucket, limit],
    );
    return rs.rows.map((r) => ({
      messageId: str(r.get("message_id")),
      conversationId: str(r.get("conversation_id")),
      senderId: str(r.get("sender_id")),
      content: r.get("content") as string,
    }));
  }
}
