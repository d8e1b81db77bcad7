// messages_by_client_id: which message a sender's clientMsgId stands for, and whether it is stored.
import cassandra from "cassandra-driver";
import { messageIdTicks } from "../../shared/message-id.js";
import type { Db, Statement } from "./cassandra.js";
import type { ClientIdRecord, StoredMessage } from "./records.js";

// Claim timestamps count down as message ids count up, in the ids' own 100 ns steps (ids made
// one after the other on a node can share a microsecond): earlier attempt, higher timestamp. Two
// per step leave room for the commit mark (+1) below the next earlier claim. Only this table is
// written this way; nothing there is ever written at wall-clock time or deleted.
const CLAIM_BASE = 1n << 62n;
const claimTimestamp = (messageId: string, mark: 0n | 1n) =>
  cassandra.types.Long.fromString(String(CLAIM_BASE - 2n * messageIdTicks(messageId) + mark));

export class ClientIdRepository {
  constructor(private readonly db: Db) {}

  async find(senderId: string, clientMsgId: string): Promise<ClientIdRecord | null> {
    const row = await this.db.first(
      "SELECT * FROM messages_by_client_id WHERE sender_id = ? AND client_msg_id = ?",
      [senderId, clientMsgId],
    );
    if (!row) return null;
    const id = row.get("message_id") as { toString(): string; getDate(): Date };
    return {
      committed: row.get("committed") === true,
      message: {
        conversationId: String(row.get("conversation_id")),
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
  async claim(m: StoredMessage) {
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

  /**
   * Clears the content a deleted message's record kept for retries, at the commit mark's
   * timestamp: above the claim that wrote it, below any earlier attempt's claim.
   */
  forgetContent(m: Pick<StoredMessage, "senderId" | "clientMsgId" | "messageId">): Statement {
    return {
      query: `UPDATE messages_by_client_id USING TIMESTAMP ? SET content = ''
              WHERE sender_id = ? AND client_msg_id = ?`,
      params: [claimTimestamp(m.messageId, 1n), m.senderId, m.clientMsgId],
    };
  }

  /** Marks the claim of `m` committed; a later attempt's claim cannot undo it. */
  async commit(m: StoredMessage) {
    await this.db.execute(
      `UPDATE messages_by_client_id USING TIMESTAMP ? SET committed = true
       WHERE sender_id = ? AND client_msg_id = ?`,
      [claimTimestamp(m.messageId, 1n), m.senderId, m.clientMsgId],
    );
  }
}
