import type { ConversationKind, Message, MessageSummary } from "../../shared/protocol.js";

/** A conversation as stored: its immutable facts and the summary of its newest message. */
export type ConversationRecord = {
  conversationId: string;
  kind: ConversationKind;
  participantIds: string[];
  title?: string;
  adminId?: string;
  bucketMs: number;
  createdAt: Date;
  lastUpdated: Date;
  lastMessage: MessageSummary | null;
  /** The newest change that is not a message (an edit, a reaction, a membership change). */
  lastChanged?: Date;
};

/**
 * A stored message: the wire message without what is read from other rows (reactions; the
 * preview of the message it answers, which may be attached), plus what only storage keeps.
 */
export type StoredMessage = Omit<Message, "reactions"> & {
  recipientId?: string;
  replyToId?: string;
};

/** A later state of a message's row: an edit, or its deletion. */
export type MessageState = Pick<Message, "content" | "editedAt" | "deleted"> & { version: number };

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

/** Inbox rows to add: `row` in the inbox of each of `userIds`. */
export type InboxEntry = { userIds: string[]; row: InboxRow };

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

/** A change of a group's members, admin or title, as one storage operation. */
export type MembershipChange = {
  add?: string[];
  remove?: string[];
  adminId?: string;
  title?: string;
};

/**
 * A change that `sync` must find: the conversation's last_changed moves to `at`, and each of
 * `userIds` (none when this node already wrote them for the slot) gets its changes_by_user row.
 */
export type Touch = { conversationId: string; at: Date; slot: Date; userIds: string[] };
