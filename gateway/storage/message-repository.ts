// messages_by_conversation and its bucket index: the message rows, their later states (edits,
// deletion) and the history reads.
import cassandra from "cassandra-driver";
import { messageIdTicks } from "../../shared/message-id.js";
import type { SystemEvent } from "../../shared/protocol.js";
import type { Db, Row, Statement } from "./cassandra.js";
import type { MessageState, StoredMessage } from "./records.js";

const str = (v: unknown) => String(v);

/**
 * A row's write timestamp at `version`: the message id's microsecond plus the version, so a later
 * state always outranks an earlier one (see cql/007_message_changes.cql).
 */
const versionMicros = (messageId: string, version: number) =>
  cassandra.types.Long.fromString(String(messageIdTicks(messageId) / 10n + BigInt(version)));

/** What the unread count needs of a message, without its content. */
export type MessageMark = { messageId: string; senderId: string; deleted: boolean };

export type Direction = "older" | "newer";

function toMessage(r: Row, conversationId: string): StoredMessage {
  const id = r.get("message_id") as { toString(): string; getDate(): Date };
  const recipient = r.get("recipient_id");
  const version = r.get("version") as number | null;
  const editedAt = r.get("edited_at") as Date | null;
  const replyTo = r.get("reply_to");
  const system = r.get("system") as string | null;
  return {
    conversationId,
    messageId: id.toString(),
    senderId: str(r.get("sender_id")),
    clientMsgId: r.get("client_msg_id") as string,
    content: r.get("content") as string,
    sentAt: id.getDate().toISOString(),
    ...(version ? { version } : {}),
    ...(editedAt ? { editedAt: editedAt.toISOString() } : {}),
    ...(r.get("deleted") === true ? { deleted: true as const } : {}),
    ...(recipient ? { recipientId: str(recipient) } : {}),
    ...(replyTo ? { replyToId: str(replyTo) } : {}),
    ...(system ? { system: JSON.parse(system) as SystemEvent } : {}),
  };
}

export class MessageRepository {
  constructor(private readonly db: Db) {}

  /** The message's first state (version 0). */
  insert(m: StoredMessage, bucket: Date): Statement {
    // Absent columns are left unset rather than written as null, which would be a tombstone.
    const optional = (
      [
        ["recipient_id", m.recipientId],
        ["reply_to", m.replyToId],
        ["system", m.system && JSON.stringify(m.system)],
      ] as const
    ).filter(([, value]) => value !== undefined);
    const columns = optional.map(([column]) => `, ${column}`).join("");
    return {
      query: `INSERT INTO messages_by_conversation (conversation_id, bucket, message_id, sender_id, client_msg_id, content${columns})
              VALUES (?, ?, ?, ?, ?, ?${", ?".repeat(optional.length)}) USING TIMESTAMP ?`,
      params: [
        m.conversationId,
        bucket,
        m.messageId,
        m.senderId,
        m.clientMsgId,
        m.content,
        ...optional.map(([, value]) => value),
        versionMicros(m.messageId, 0),
      ],
    };
  }

  /** A later state: an edit (content, editedAt) or the deletion (content '', deleted). */
  setState(
    conversationId: string,
    bucket: Date,
    messageId: string,
    state: MessageState,
  ): Statement {
    return state.deleted
      ? {
          query: `UPDATE messages_by_conversation USING TIMESTAMP ? SET content = '', deleted = true, version = ?
                  WHERE conversation_id = ? AND bucket = ? AND message_id = ?`,
          params: [
            versionMicros(messageId, state.version),
            state.version,
            conversationId,
            bucket,
            messageId,
          ],
        }
      : {
          query: `UPDATE messages_by_conversation USING TIMESTAMP ? SET content = ?, edited_at = ?, version = ?
                  WHERE conversation_id = ? AND bucket = ? AND message_id = ?`,
          params: [
            versionMicros(messageId, state.version),
            state.content,
            state.editedAt ? new Date(state.editedAt) : null,
            state.version,
            conversationId,
            bucket,
            messageId,
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

  /** The messages of one bucket among `messageIds`, in no particular order. */
  async find(conversationId: string, bucket: Date, messageIds: string[]): Promise<StoredMessage[]> {
    const rs = await this.db.execute(
      "SELECT * FROM messages_by_conversation WHERE conversation_id = ? AND bucket = ? AND message_id IN ?",
      [conversationId, bucket, messageIds],
    );
    return rs.rows.map((r) => toMessage(r, conversationId));
  }

  /** One bucket's messages after `after` (exclusive; none: all), newest first, without content. */
  async marks(
    conversationId: string,
    bucket: Date,
    after: string | null,
    limit: number,
  ): Promise<MessageMark[]> {
    const rs = await this.db.execute(
      `SELECT message_id, sender_id, deleted FROM messages_by_conversation
       WHERE conversation_id = ? AND bucket = ?${after ? " AND message_id > ?" : ""} LIMIT ?`,
      [conversationId, bucket, ...(after ? [after] : []), limit],
    );
    return rs.rows.map((r) => ({
      messageId: str(r.get("message_id")),
      senderId: str(r.get("sender_id")),
      deleted: r.get("deleted") === true,
    }));
  }
}
