import type {
  Conversation,
  ConversationRemovedEvent,
  ConversationUpdatedEvent,
  Message,
  MessageDeletedEvent,
  MessageEditedEvent,
  ReactionEvent,
  ReceiptEvent,
  TypingEvent,
} from "../../shared/protocol.js";

/** Delivery to users' sockets on every node; the services never see Socket.IO itself. */
export interface FanOut {
  /** To every socket of these users except the one that sent it. */
  messageNew(userIds: string[], message: Message, exceptSocketId?: string): void;
  receipt(userIds: string[], receipt: ReceiptEvent): void;
  /** Volatile: dropped rather than buffered when a socket or the adapter is not ready. */
  typing(userIds: string[], event: TypingEvent): void;
  conversationNew(userIds: string[], conversation: Conversation): void;
  /** A change to a stored message or conversation, to every socket of these users but one. */
  notify(userIds: string[], notice: Notice, exceptSocketId?: string): void;
  /**
   * Tells every node to forget its cached copy of the conversation; resolves once every node
   * connected to the adapter confirmed, and fails (UNAVAILABLE) when one did not in time.
   */
  conversationChanged(conversationId: string): Promise<void>;
  /** Runs `forget` whenever another node reports a conversation changed. */
  onConversationChanged(forget: (conversationId: string) => void): void;
}

export type Notice =
  | { event: "message:edited"; payload: MessageEditedEvent }
  | { event: "message:deleted"; payload: MessageDeletedEvent }
  | { event: "reaction"; payload: ReactionEvent }
  | { event: "conversation:updated"; payload: ConversationUpdatedEvent }
  | { event: "conversation:removed"; payload: ConversationRemovedEvent };
