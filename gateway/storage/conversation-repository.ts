// conversations, their inbox rows (inbox_by_user) and read positions.
import cassandra from "cassandra-driver";
import { messageIdTicks } from "../../shared/message-id.js";
import type { MessageSummary } from "../../shared/protocol.js";
import type { Db, Params, Row, Statement } from "./cassandra.js";
import type {
  ConversationRecord,
  InboxEntry,
  InboxRow,
  MembershipChange,
  Touch,
} from "./records.js";

const SERIAL = cassandra.types.consistencies.localSerial;
const str = (v: unknown) => String(v);

/** inbox_by_user.kind: message rows sort first within a slot (see cql/004_inbox_by_user.cql). */
const INBOX_KIND = { message: 0, created: 1 } as const;

type TimeUuid = { toString(): string; getDate(): Date };
type SummaryCell = {
  message_id: TimeUuid;
  sender_id: unknown;
  content: string;
  edited_at: Date | null;
  deleted: boolean | null;
};

/** The newest message: one cell since migration 005, separate columns in rows written before. */
function lastMessageOf(r: Row): MessageSummary | null {
  const cell = r.get("last_message") as SummaryCell | null;
  if (cell) {
    return {
      messageId: cell.message_id.toString(),
      senderId: str(cell.sender_id),
      content: cell.content,
      sentAt: cell.message_id.getDate().toISOString(),
      ...(cell.edited_at ? { editedAt: cell.edited_at.toISOString() } : {}),
      ...(cell.deleted ? { deleted: true as const } : {}),
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
  const admin = r.get("admin_id");
  const lastChanged = r.get("last_changed") as Date | null;
  return {
    conversationId: str(r.get("conversation_id")),
    kind: r.get("kind") as ConversationRecord["kind"],
    participantIds: ((r.get("participant_ids") ?? []) as unknown[]).map(str).sort(),
    ...(title ? { title } : {}),
    ...(admin ? { adminId: str(admin) } : {}),
    bucketMs: r.get("bucket_ms") as number,
    createdAt: r.get("created_at") as Date,
    lastUpdated,
    lastMessage,
    ...(lastChanged ? { lastChanged } : {}),
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
      `INSERT INTO conversations (conversation_id, kind, participant_ids, title, admin_id, bucket_ms, created_at, last_updated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [
        c.conversationId,
        c.kind,
        c.participantIds,
        c.title ?? null,
        c.adminId ?? null,
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
   * Records a message (at `version`: its edits and deletion) as the newest. Written at the message
   * id's own 100 ns timestamp plus the version (only ever written so), so the newest message, and
   * of it the latest state, wins whatever order the writes arrive in; and as one cell, so two
   * writes never mix their columns.
   */
  lastMessage(conversationId: string, m: MessageSummary, version = 0): Statement {
    return {
      query:
        "UPDATE conversations USING TIMESTAMP ? SET last_message = ? WHERE conversation_id = ?",
      params: [
        cassandra.types.Long.fromString(String(messageIdTicks(m.messageId) + BigInt(version))),
        {
          message_id: m.messageId,
          sender_id: m.senderId,
          content: m.content,
          edited_at: m.editedAt ? new Date(m.editedAt) : null,
          deleted: m.deleted ?? null,
        },
        conversationId,
      ],
    };
  }

  /**
   * A group's new members, admin or title. Members are set elements, so changes of different
   * members never overwrite each other.
   */
  async change(conversationId: string, change: MembershipChange): Promise<void> {
    const sets: [string, unknown][] = [];
    if (change.add?.length) sets.push(["participant_ids = participant_ids + ?", change.add]);
    if (change.remove?.length) sets.push(["participant_ids = participant_ids - ?", change.remove]);
    if (change.adminId) sets.push(["admin_id = ?", change.adminId]);
    if (change.title) sets.push(["title = ?", change.title]);
    if (sets.length === 0) return;
    await this.db.execute(
      `UPDATE conversations SET ${sets.map(([clause]) => clause).join(", ")} WHERE conversation_id = ?`,
      [...sets.map(([, value]) => value), conversationId],
    );
  }

  /** Records a change for sync: the conversation's newest change time, and the users' rows. */
  touch({ conversationId, at, slot, userIds }: Touch): Statement[] {
    return [
      {
        // At the change's own microsecond, so the newest change wins whatever order writes land in.
        query:
          "UPDATE conversations USING TIMESTAMP ? SET last_changed = ? WHERE conversation_id = ?",
        params: [cassandra.types.Long.fromNumber(at.getTime() * 1000), at, conversationId],
      },
      ...userIds.map((userId) => ({
        query: "INSERT INTO changes_by_user (user_id, slot, conversation_id) VALUES (?, ?, ?)",
        params: [userId, slot, conversationId],
      })),
    ];
  }

  async saveTouch(t: Touch): Promise<void> {
    await this.db.all(this.touch(t));
  }

  /** The conversations with a change recorded for the user in slot `from` or later. */
  async *changedSince(userId: string, from: Date): AsyncGenerator<string> {
    for await (const r of this.db.rows(
      "SELECT conversation_id FROM changes_by_user WHERE user_id = ? AND slot >= ?",
      [userId, from],
      500,
    )) {
      yield str(r.get("conversation_id"));
    }
  }

  inboxInserts({ userIds, row }: InboxEntry): Statement[] {
    return userIds.map((userId) => ({
      query:
        "INSERT INTO inbox_by_user (user_id, slot, kind, at, conversation_id) VALUES (?, ?, ?, ?, ?)",
      params: [userId, row.slot, INBOX_KIND[row.kind], row.at, row.conversationId],
    }));
  }

  async addInboxRows(entry: InboxEntry) {
    await this.db.all(this.inboxInserts(entry));
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

  /** Every participant's read position that is stored: user id -> message id. */
  async readPositions(conversationId: string): Promise<Record<string, string>> {
    const rs = await this.db.execute(
      "SELECT user_id, message_id FROM read_positions WHERE conversation_id = ?",
      [conversationId],
    );
    return Object.fromEntries(
      rs.rows.map((r) => [str(r.get("user_id")), str(r.get("message_id"))]),
    );
  }

  async readPosition(conversationId: string, userId: string): Promise<string | null> {
    const row = await this.db.first(
      "SELECT message_id FROM read_positions WHERE conversation_id = ? AND user_id = ?",
      [conversationId, userId],
    );
    return row ? str(row.get("message_id")) : null;
  }
}
