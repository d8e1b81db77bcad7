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

export type Message = {
  conversationId: string;
  messageId: string;
  senderId: string;
  clientMsgId: string;
  content: string;
  sentAt: string;
};

export type MessageSummary = Pick<Message, "messageId" | "senderId" | "content" | "sentAt">;

export type ConversationKind = "direct" | "group";

export type Conversation = {
  conversationId: string;
  kind: ConversationKind;
  participantIds: string[];
  title?: string;
  lastMessage: MessageSummary | null;
  lastUpdated: string;
};

export type ErrorBody = { code: ErrorCode; message: string; retryAfterMs?: number };
export type Failure = { ok: false; error: ErrorBody };
export type Answer<T extends object = object> = ({ ok: true } & T) | Failure;

export type SendRequest = { clientMsgId: string; content: string } & (
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

export type SendAnswer = Answer<{ message: Message }>;
export type HistoryFetchAnswer = Answer<{ messages: Message[]; nextCursor: string | null }>;
export type HistorySinceAnswer = Answer<{ messages: Message[]; hasMore: boolean }>;
export type ConversationsListAnswer = Answer<{
  conversations: Conversation[];
  nextCursor: string | null;
}>;
export type ConversationAnswer = Answer<{ conversation: Conversation }>;
export type EmptyAnswer = Answer;

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

export interface ServerToClientEvents {
  "message:new": (message: Message) => void;
  receipt: (receipt: ReceiptEvent) => void;
  typing: (event: TypingEvent) => void;
  "conversation:new": (conversation: Conversation) => void;
  "session:expired": () => void;
  /** Live events to this socket were lost (a fan-out replay was not whole): catch up from storage. */
  "sync:required": (event: { reason: "replayIncomplete" }) => void;
}

// Nodes talk to each other only through the adapter's broadcasts.
export type InterServerEvents = Record<string, never>;

export type SocketData = { userId: string; tokenExpiresAt: number };

/** Why a handshake was refused for load: too many from one address, or the user's sockets. */
export type LimitReason = "handshakes" | "sockets";

export type ConnectErrorData =
  | { code: "UNAUTHORIZED"; reason: AuthRefusalReason }
  | { code: "UNAVAILABLE"; reason: string }
  | { code: "RATE_LIMITED"; reason: LimitReason; retryAfterMs?: number };
