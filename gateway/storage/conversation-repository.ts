// conversations, their inbox rows (conversations_by_user) and read positions.
import cassandra from "cassandra-driver";
import { messageIdTicks } from "../../shared/message-id.js";
import type { MessageSummary } from "../../shared/protocol.js";
import type { Db, Row, Statement } from "./cassandra.js";
import type { ConversationRecord, InboxEntry, InboxRow } from "./records.js";

const SERIAL = cassandra.types.consistencies.localSerial;
const str = (v: unknown) => String(v);

type TimeUuid = { toString(): string; getDate(): Date };
type SummaryCell = { message_id: TimeUuid; sender_id: unknown; content: string };

/** The newest message: one cell since migration 004, separate columns in rows written before. */
function lastMessageOf(r: Row): MessageSummary | null {
  const cell = r.get("last_message") as SummaryCell | null;
  if (cell) {
    return {
      messageId: cell.message_id.toString(),
      senderId: str(cell.sender_id),
      content: cell.content,
      sentAt: cell.message_id.getDate().toISOString(),
    };
  }
  const id = r.get("last_message_id") as TimeUuid | null;
  return id
    ? {
        messageId: id.toString(),
        senderId: str(r.get("last_sender_id")),
        content: r.get("last_content") as string,
        sentAt: id.getDate().toISOString(),
      }
    : null;
}

function toRecord(r: Row): ConversationRecord {
  const lastMessage = lastMessageOf(r);
  const lastUpdated = lastMessage ? new Date(lastMessage.sentAt) : (r.get("last_updated") as Date);
  const title = r.get("title") as string | null;
  return {
    conversationId: str(r.get("conversation_id")),
    kind: r.get("kind") as ConversationRecord["kind"],
    participantIds: ((r.get("participant_ids") ?? []) as unknown[]).map(str).sort(),
    ...(title ? { title } : {}),
    bucketMs: r.get("bucket_ms") as number,
    createdAt: r.get("created_at") as Date,
    lastUpdated,
    lastMessage,
  };
}

export class ConversationRepository {
  constructor(private readonly db: Db) {}

  async get(conversationId: string): Promise<ConversationRecord | null> {
    const rs = await this.db.execute("SELECT * FROM conversations WHERE conversation_id = ?", [
      conversationId,
    ]);
    const row = rs.first();
    return row && row.get("kind") ? toRecord(row) : null;
  }

  /** Creates the conversation unless one with its id exists; returns the one that is stored. */
  async createIfAbsent(
    c: ConversationRecord,
  ): Promise<{ created: boolean; record: ConversationRecord }> {
    const rs = await this.db.execute(
      `INSERT INTO conversations (conversation_id, kind, participant_ids, title, bucket_ms, created_at, last_updated)
       VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [
        c.conversationId,
        c.kind,
        c.participantIds,
        c.title ?? null,
        c.bucketMs,
        c.createdAt,
        c.createdAt,
      ],
      { serialConsistency: SERIAL },
    );
    const row = rs.first();
    if (row.get("[applied]") === true) return { created: true, record: c };
    return { created: false, record: toRecord(row) };
  }

  /**
   * Records a message as the newest. Written at the message id's own 100 ns timestamp (only ever
   * written so), so the newest message wins whatever order the writes arrive in, and as one cell,
   * so two writes never mix their columns.
   */
  lastMessage(conversationId: string, m: MessageSummary): Statement {
    return {
      query:
        "UPDATE conversations USING TIMESTAMP ? SET last_message = ? WHERE conversation_id = ?",
      params: [
        cassandra.types.Long.fromString(String(messageIdTicks(m.messageId))),
        { message_id: m.messageId, sender_id: m.senderId, content: m.content },
        conversationId,
      ],
    };
  }

  inboxInserts(entry: InboxEntry): Statement[] {
    return entry.userIds.map((userId) => ({
      query: "INSERT INTO conversations_by_user (user_id, slot, conversation_id) VALUES (?, ?, ?)",
      params: [userId, entry.slot, entry.conversationId],
    }));
  }

  async addInboxRows(entry: InboxEntry) {
    await Promise.all(this.inboxInserts(entry).map((s) => this.db.execute(s.query, s.params)));
  }

  /** The user's inbox rows, newest slot first, from `fromSlot` (inclusive) down. */
  async *inboxRows(
    userId: string,
    fromSlot: Date | null,
    fetchSize: number,
  ): AsyncGenerator<InboxRow> {
    const rows = fromSlot
      ? this.db.rows(
          "SELECT slot, conversation_id FROM conversations_by_user WHERE user_id = ? AND slot <= ?",
          [userId, fromSlot],
          fetchSize,
        )
      : this.db.rows(
          "SELECT slot, conversation_id FROM conversations_by_user WHERE user_id = ?",
          [userId],
          fetchSize,
        );
    for await (const r of rows) {
      yield { slot: r.get("slot") as Date, conversationId: str(r.get("conversation_id")) };
    }
  }

  async removeInboxRow(userId: string, row: InboxRow) {
    await this.db.execute(
      "DELETE FROM conversations_by_user WHERE user_id = ? AND slot = ? AND conversation_id = ?",
      [userId, row.slot, row.conversationId],
    );
  }

  /** Stores a read position; the write timestamp keeps the newest position. */
  async setReadPosition(
    conversationId: string,
    userId: string,
    messageId: string,
    readAt: Date,
    writeMicros: number,
  ) {
    await this.db.execute(
      `UPDATE read_positions USING TIMESTAMP ? SET message_id = ?, read_at = ?
       WHERE conversation_id = ? AND user_id = ?`,
      [writeMicros, messageId, readAt, conversationId, userId],
    );
  }

  async readPosition(conversationId: string, userId: string): Promise<string | null> {
    const row = (
      await this.db.execute(
        "SELECT message_id FROM read_positions WHERE conversation_id = ? AND user_id = ?",
        [conversationId, userId],
      )
    ).first();
    return row ? str(row.get("message_id")) : null;
  }
}
