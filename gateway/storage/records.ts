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

/** Inbox rows a send adds: the users whose inbox gains the conversation at `slot`. */
export type InboxEntry = { conversationId: string; slot: Date; userIds: string[] };

/** What one message's send writes, in one storage operation. */
export type MessageAppend = {
  message: StoredMessage;
  bucket: Date;
  /** The bucket may be new: its row in the conversation's bucket index is written too. */
  indexBucket: boolean;
  inbox: InboxEntry | null;
};

/** A send's idempotency record: the message its first attempt made, and whether it was stored. */
export type ClientIdRecord = { message: StoredMessage; committed: boolean };
