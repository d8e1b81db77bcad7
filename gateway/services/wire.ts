// Stored records as the protocol shows them: the one place that maps one to the other.
import type { Conversation, Message } from "../../shared/protocol.js";
import type { ConversationRecord, StoredMessage } from "../storage/records.js";

export const toWire = ({ recipientId: _, ...message }: StoredMessage): Message => message;

export function toConversation(r: ConversationRecord): Conversation {
  return {
    conversationId: r.conversationId,
    kind: r.kind,
    participantIds: r.participantIds,
    ...(r.title ? { title: r.title } : {}),
    lastMessage: r.lastMessage,
    lastUpdated: r.lastUpdated.toISOString(),
  };
}
