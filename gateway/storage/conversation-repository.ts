import cassandra from "cassandra-driver";
import type { MessageSummary } from "../../shared/protocol.js";
import type { Db, Params, Row } from "./cassandra.js";
import type { ConversationRecord, InboxRow } from "./records.js";

const SERIAL = cassandra.types.consistencies.localSerial;
const str = (v: unknown) => String(v);

/** inbox_by_user.kind: message rows sort first within a slot (see cql/004_inbox_by_user.cql). */
const INBOX_KIND = { message: 0, created: 1 } as const;

function toRecord(r: Row): ConversationRecord {
  const lastId = r.get("last_message_id");
  const lastUpdated = r.get("last_updated") as Date;
  const lastMessage: MessageSummary | null = lastId
    ? {
        messageId: str(lastId),
        senderId: str(r.get("last_sender_id")),
        content: r.get("last_content") as string,
        sentAt: lastUpdated.toISOString(),
      }
    : null;
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

  /** Records a message as the newest; the write timestamp makes the newest message win. */
  async setLastMessage(conversationId: string, m: MessageSummary, writeMicros: number) {
    await this.db.execute(
      `UPDATE conversations USING TIMESTAMP ?
       SET last_updated = ?, last_message_id = ?, last_sender_id = ?, last_content = ?
       WHERE conversation_id = ?`,
      [writeMicros, new Date(m.sentAt), m.messageId, m.senderId, m.content, conversationId],
    );
  }

  async addInboxRows(userIds: string[], row: InboxRow) {
    await Promise.all(
      userIds.map((userId) =>
        this.db.execute(
          "INSERT INTO inbox_by_user (user_id, slot, kind, at, conversation_id) VALUES (?, ?, ?, ?, ?)",
          [userId, row.slot, INBOX_KIND[row.kind], row.at, row.conversationId],
        ),
      ),
    );
  }

  /**
   * The user's inbox rows in clustering order (slots newest first; in each, message rows, then
   * created rows newest first, then by id), from the place `from` on: the message rows of its
   * slot again, its created rows after it, then every older slot.
   */
  async *inboxRows(
    userId: string,
    from: { slot: Date; at: Date; conversationId: string } | null,
    fetchSize: number,
  ): AsyncGenerator<InboxRow> {
    const select = "SELECT slot, kind, at, conversation_id FROM inbox_by_user WHERE user_id = ?";
    const { message, created } = INBOX_KIND;
    const queries: [string, Params][] = from
      ? [
          [`${select} AND slot = ? AND kind = ?`, [userId, from.slot, message]],
          [
            `${select} AND slot = ? AND kind = ? AND at = ? AND conversation_id > ?`,
            [userId, from.slot, created, from.at, from.conversationId],
          ],
          [`${select} AND slot = ? AND kind = ? AND at < ?`, [userId, from.slot, created, from.at]],
          [`${select} AND slot < ?`, [userId, from.slot]],
        ]
      : [[select, [userId]]];
    for (const [query, params] of queries) {
      for await (const r of this.db.rows(query, params, fetchSize)) {
        yield {
          slot: r.get("slot") as Date,
          kind: r.get("kind") === INBOX_KIND.message ? "message" : "created",
          at: r.get("at") as Date,
          conversationId: r.get("conversation_id") as string,
        };
      }
    }
  }

  async removeInboxRow(userId: string, row: InboxRow) {
    await this.db.execute(
      "DELETE FROM inbox_by_user WHERE user_id = ? AND slot = ? AND kind = ? AND at = ? AND conversation_id = ?",
      [userId, row.slot, INBOX_KIND[row.kind], row.at, row.conversationId],
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

  async readPositions(conversationId: string): Promise<Map<string, string>> {
    const rs = await this.db.execute(
      "SELECT user_id, message_id FROM read_positions WHERE conversation_id = ?",
      [conversationId],
    );
    return new Map(rs.rows.map((r) => [str(r.get("user_id")), str(r.get("message_id"))]));
  }
}
