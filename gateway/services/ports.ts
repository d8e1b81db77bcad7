import type {
  Conversation,
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
  /** A change to a stored message, to every socket of these users except the one that made it. */
  messageChanged(userIds: string[], change: MessageChange, exceptSocketId?: string): void;
}

export type MessageChange =
  | { event: "message:edited"; payload: MessageEditedEvent }
  | { event: "message:deleted"; payload: MessageDeletedEvent }
  | { event: "reaction"; payload: ReactionEvent };
