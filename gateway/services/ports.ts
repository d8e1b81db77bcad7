import type {
  Conversation,
  ConversationRemovedEvent,
  ConversationUpdatedEvent,
  Message,
  MessageDeletedEvent,
  MessageEditedEvent,
  PresenceState,
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

/**
 * Who is connected to which node, kept by all nodes together. A node registers an instance of
 * itself, renews it, and lists its users under it; an instance that stops renewing is swept by
 * the others, which takes its users off.
 */
export interface PresenceStore {
  /** Renews the instance (`fresh`: registers it); false when it had been swept as dead. */
  beat(instance: string, fresh: boolean): Promise<boolean>;
  /** Marks the users present on the instance; resolves to those who were online nowhere. */
  join(instance: string, userIds: string[]): Promise<string[]>;
  /** Takes them off the instance; resolves to those now online nowhere, last seen `at`. */
  leave(instance: string, userIds: string[], at: Date): Promise<string[]>;
  /** Makes the instance due for sweeping now (a node that stops on purpose). */
  expire(instance: string): Promise<void>;
  /** Instances due for sweeping, each claimed by the caller for a while, with their last renewal. */
  claimDead(max: number): Promise<{ instance: string; lastSeen: Date }[]>;
  /** Up to `count` users still listed on the instance. */
  usersOf(instance: string, count: number): Promise<string[]>;
  /** Forgets a swept instance. */
  forget(instance: string): Promise<void>;
  states(userIds: string[]): Promise<PresenceState[]>;
}

/** Presence changes to the sockets that follow them; the services never see Socket.IO itself. */
export interface PresenceChannel {
  /** The socket (on this node) follows exactly these users, replacing whom it followed before. */
  follow(socketId: string, userIds: string[]): void;
  /** Every socket following the user, on every node, learns the change. */
  announce(state: PresenceState): void;
}
