// Stored records as the protocol shows them: the one place that maps one to the other.
import type { Conversation, Message, ReactionCount } from "../../shared/protocol.js";
import type { ConversationRecord, StoredMessage } from "../storage/records.js";

export const toWire = (
  { recipientId: _, replyToId: __, ...message }: StoredMessage,
  reactions?: ReactionCount[],
): Message => (reactions ? { ...message, reactions } : message);

/** What the caller's reading adds to a conversation: their unread count and everyone's place. */
export type Reading = Pick<Conversation, "unreadCount" | "readPositions">;

/** A conversation nobody has read anything of, with nothing unread (a new one). */
export const NOTHING_READ: Reading = { unreadCount: 0, readPositions: {} };

export function toConversation(
  r: ConversationRecord,
  reading: Reading,
  names: Conversation["names"],
): Conversation {
  return {
    conversationId: r.conversationId,
    kind: r.kind,
    participantIds: r.participantIds,
    ...(r.title ? { title: r.title } : {}),
    ...(r.adminId ? { adminId: r.adminId } : {}),
    lastMessage: r.lastMessage,
    lastUpdated: r.lastUpdated.toISOString(),
    ...reading,
    names,
  };
}
