import type { ConversationKind, Message, MessageSummary } from "../../shared/protocol.js";

/** A conversation as stored: its immutable facts and the summary of its newest message. */
export type ConversationRecord = {
  conversationId: string;
  kind: ConversationKind;
  participantIds: string[];
  title?: string;
  bucketMs: number;
  createdAt: Date;
  lastUpdated: Date;
  lastMessage: MessageSummary | null;
};

/** A stored message and where it lives. */
export type StoredMessage = Message & { recipientId?: string };

export type InboxRow = { slot: Date; conversationId: string };

export type ClientIdRecord = { message: StoredMessage; committed: boolean };
