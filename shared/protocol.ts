// The wire protocol (docs/protocol.md) as types: the gateway, the clients and the tests all
// compile against these maps, so a misspelt event or a wrong payload fails to build.

export const ERROR_CODES = [
  "UNAUTHORIZED",
  "BAD_REQUEST",
  "FORBIDDEN",
  "NOT_FOUND",
  "RATE_LIMITED",
  "PAYLOAD_TOO_LARGE",
  "UNAVAILABLE",
  "INTERNAL",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type AuthRefusalReason = "missing" | "malformed" | "expired" | "invalid";

/** What a reply shows of the message it answers, as that message is now. */
export type ReplyPreview = {
  messageId: string;
  senderId: string;
  /** The first REPLY_PREVIEW_CHARS code points of its content; empty once it is deleted. */
  preview: string;
  deleted?: true;
};

/** What a system message records: a change of a group's members or title, made by its sender. */
export type SystemEvent = {
  action: "added" | "removed" | "left" | "renamed";
  /** Who was added or removed, or who left; empty for a rename. */
  userIds: string[];
  /** The new title, for a rename. */
  title?: string;
};

/** One emoji's reactions to a message: how many users, and whether the caller is one of them. */
export type ReactionCount = { emoji: string; count: number; me: boolean };

export type Message = {
  conversationId: string;
  messageId: string;
  senderId: string;
  clientMsgId: string;
  /** Empty once the message is deleted. */
  content: string;
  sentAt: string;
  /** Edits and the deletion each add one; absent while it is 0. A state replaces a lower one. */
  version?: number;
  editedAt?: string;
  deleted?: true;
  replyTo?: ReplyPreview;
  /** In answers only (events carry their own changes); absent when there are none. */
  reactions?: ReactionCount[];
  /** Present on the messages the gateway writes for a membership change or a rename. */
  system?: SystemEvent;
};

export type MessageSummary = Pick<Message, "messageId" | "senderId" | "content" | "sentAt"> &
  Pick<Message, "editedAt" | "deleted">;

export type ConversationKind = "direct" | "group";

export type Conversation = {
  conversationId: string;
  kind: ConversationKind;
  participantIds: string[];
  title?: string;
  /** Groups: the member who may add, remove and rename. */
  adminId?: string;
  lastMessage: MessageSummary | null;
  lastUpdated: string;
  /** The caller's unread messages (others', not deleted, after their read position), up to MAX_UNREAD. */
  unreadCount: number;
  /** Each participant's read position (a message id); participants who read nothing are absent. */
  readPositions: Record<string, string>;
  /** Participants' display names (their tokens' `name`); those without one are absent. */
  names: Record<string, string>;
};

export type ErrorBody = { code: ErrorCode; message: string; retryAfterMs?: number };
export type Failure = { ok: false; error: ErrorBody };
export type Answer<T extends object = object> = ({ ok: true } & T) | Failure;

export type SendRequest = { clientMsgId: string; content: string; replyTo?: string } & (
  { conversationId: string; recipientId?: never } | { recipientId: string; conversationId?: never }
);
export type HistoryFetchRequest = {
  conversationId: string;
  limit?: number;
  cursor?: string;
  before?: string;
};
export type HistorySinceRequest = { conversationId: string; after: string; limit?: number };
export type ConversationsListRequest = { limit?: number; cursor?: string };
export type ConversationOpenRequest = { peerId: string };
export type ConversationCreateRequest = { participantIds: string[]; title?: string };
export type MessageReadRequest = { conversationId: string; messageId: string };
export type TypingRequest = { conversationId: string; typing: boolean };
export type ConversationRef = { conversationId: string };
export type SyncRequest = { position?: string; cursor?: string; limit?: number };
/** A conversation that changed since the position, and what to fetch of it. */
export type SyncEntry = {
  conversation: Conversation;
  /** New messages (or it is new): fetch them with history:since, or history:fetch if none held. */
  messages: boolean;
  /** Messages edited, deleted or reacted to, or members changed: fetch with changes:since. */
  changes: boolean;
};
export type MembersAddRequest = ConversationRef & { userIds: string[] };
export type MemberRemoveRequest = ConversationRef & { userId: string };
export type RenameRequest = ConversationRef & { title: string };
export type MessageRef = { conversationId: string; messageId: string };
export type MessageEditRequest = MessageRef & { content: string };
export type ReactionRequest = MessageRef & { emoji: string };
export type ChangesSinceRequest = {
  conversationId: string;
  /** A message id (or any time-based id): changes made after its time. */
  after: string;
  cursor?: string;
  limit?: number;
};
/** A new token for the socket's own user. */
export type AuthRefreshRequest = { token: string };

export type SendAnswer = Answer<{ message: Message }>;
export type HistoryFetchAnswer = Answer<{ messages: Message[]; nextCursor: string | null }>;
export type HistorySinceAnswer = Answer<{ messages: Message[]; hasMore: boolean }>;
export type ConversationsListAnswer = Answer<{
  conversations: Conversation[];
  nextCursor: string | null;
}>;
export type ConversationAnswer = Answer<{ conversation: Conversation }>;
export type EmptyAnswer = Answer;
export type MessageAnswer = Answer<{ message: Message }>;
export type SyncAnswer = Answer<{
  conversations: SyncEntry[];
  /** Conversations the caller was removed from or left since the position. */
  removed: string[];
  /** The position to send next time, once every page is read. */
  position: string;
  /** A time-based id of the position sent: `after` for changes:since of the conversations listed. */
  after: string;
  nextCursor: string | null;
}>;
export type ChangesSinceAnswer = Answer<{ messages: Message[]; nextCursor: string | null }>;
/** `expiresAt`: the socket's new expiry (the new token's `exp`), ISO-8601. */
export type AuthRefreshAnswer = Answer<{ expiresAt: string }>;

export interface ClientToServerEvents {
  "message:send": (req: SendRequest, ack: (a: SendAnswer) => void) => void;
  "history:fetch": (req: HistoryFetchRequest, ack: (a: HistoryFetchAnswer) => void) => void;
  "history:since": (req: HistorySinceRequest, ack: (a: HistorySinceAnswer) => void) => void;
  "conversations:list": (
    req: ConversationsListRequest,
    ack: (a: ConversationsListAnswer) => void,
  ) => void;
  "conversation:open": (req: ConversationOpenRequest, ack: (a: ConversationAnswer) => void) => void;
  "conversation:create": (
    req: ConversationCreateRequest,
    ack: (a: ConversationAnswer) => void,
  ) => void;
  "message:read": (req: MessageReadRequest, ack: (a: EmptyAnswer) => void) => void;
  typing: (req: TypingRequest, ack: (a: EmptyAnswer) => void) => void;
  "message:edit": (req: MessageEditRequest, ack: (a: MessageAnswer) => void) => void;
  "message:delete": (req: MessageRef, ack: (a: MessageAnswer) => void) => void;
  "reaction:add": (req: ReactionRequest, ack: (a: MessageAnswer) => void) => void;
  "reaction:remove": (req: ReactionRequest, ack: (a: MessageAnswer) => void) => void;
  "changes:since": (req: ChangesSinceRequest, ack: (a: ChangesSinceAnswer) => void) => void;
  "conversation:add": (req: MembersAddRequest, ack: (a: ConversationAnswer) => void) => void;
  "conversation:remove": (req: MemberRemoveRequest, ack: (a: ConversationAnswer) => void) => void;
  "conversation:rename": (req: RenameRequest, ack: (a: ConversationAnswer) => void) => void;
  "conversation:leave": (req: ConversationRef, ack: (a: EmptyAnswer) => void) => void;
  sync: (req: SyncRequest, ack: (a: SyncAnswer) => void) => void;
  "auth:refresh": (req: AuthRefreshRequest, ack: (a: AuthRefreshAnswer) => void) => void;
}

export type RequestEvent = keyof ClientToServerEvents;
/** What a client sends with request E. */
export type RequestPayload<E extends RequestEvent> = Parameters<ClientToServerEvents[E]>[0];
/** The answer to request E: ok with its fields, or a failure. */
export type RequestAnswer<E extends RequestEvent> = Parameters<
  Parameters<ClientToServerEvents[E]>[1]
>[0];
/** The ok answer to request E. */
export type RequestResult<E extends RequestEvent> = Extract<RequestAnswer<E>, { ok: true }>;
/** The fields of the ok answer to request E, without `ok`. */
export type RequestSuccess<E extends RequestEvent> = Omit<RequestResult<E>, "ok">;

export type ReceiptEvent = {
  conversationId: string;
  userId: string;
  messageId: string;
  readAt: string;
};
export type TypingEvent = { conversationId: string; userId: string; typing: boolean };
/** A group's members, admin or title changed: its facts as they are now. */
export type ConversationUpdatedEvent = Pick<
  Conversation,
  "conversationId" | "kind" | "participantIds" | "title" | "adminId" | "names"
>;
/** The user is no longer a member: removed by `by`, or left (`by` is themself). */
export type ConversationRemovedEvent = ConversationRef & { by: string };
export type MessageEditedEvent = MessageRef & {
  content: string;
  editedAt: string;
  version: number;
};
export type MessageDeletedEvent = MessageRef & { version: number };
/** A user's reaction was added or removed; `count` is that emoji's count just after. */
export type ReactionEvent = MessageRef & {
  userId: string;
  emoji: string;
  added: boolean;
  count: number;
};

export type SessionExpiringEvent = { expiresAt: string };

export interface ServerToClientEvents {
  "message:new": (message: Message) => void;
  receipt: (receipt: ReceiptEvent) => void;
  typing: (event: TypingEvent) => void;
  "conversation:new": (conversation: Conversation) => void;
  "message:edited": (event: MessageEditedEvent) => void;
  "message:deleted": (event: MessageDeletedEvent) => void;
  reaction: (event: ReactionEvent) => void;
  "conversation:updated": (event: ConversationUpdatedEvent) => void;
  "conversation:removed": (event: ConversationRemovedEvent) => void;
  "session:expired": () => void;
  /** The socket's token expires at `expiresAt` (ISO-8601): send `auth:refresh` before then. */
  "session:expiring": (event: SessionExpiringEvent) => void;
  /** Live events to this socket were lost (a fan-out replay was not whole): catch up from storage. */
  "sync:required": (event: { reason: "replayIncomplete" }) => void;
}

// Nodes talk to each other through the adapter: broadcasts, and this request to every node to
// forget its cached copy of a conversation whose members changed, answered once it has.
export interface InterServerEvents {
  "conversation:changed": (conversationId: string, done: (forgotten: true) => void) => void;
}

export type SocketData = { userId: string; tokenExpiresAt: number };

/** Why a handshake was refused for load: too many from one address, or the user's sockets. */
export type LimitReason = "handshakes" | "sockets";

export type ConnectErrorData =
  | { code: "UNAUTHORIZED"; reason: AuthRefusalReason }
  | { code: "UNAVAILABLE"; reason: string }
  | { code: "RATE_LIMITED"; reason: LimitReason; retryAfterMs?: number };
