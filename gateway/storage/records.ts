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

/**
 * A conversation's entry in a user's inbox slot: `message` when it had a message in the slot (at:
 * that message's time), `created` when it was created in the slot (at: its creation time).
 */
export type InboxRow = {
  slot: Date;
  kind: "message" | "created";
  at: Date;
  conversationId: string;
};

export type ClientIdRecord = { message: StoredMessage; committed: boolean };
