// The page's model of what the user sees: conversations, their messages, sends in flight,
// receipts and who is typing. Messages are kept by id, so one shown twice is impossible.
import { compareMessageIds } from "../../shared/message-id.js";
import type { Conversation, Message } from "../../shared/protocol.js";

export type Pending = { clientMsgId: string; content: string; state: "pending" | "failed" };

export class ConversationState {
  readonly messages = new Map<string, Message>();
  /** Sends not yet seen as messages, by clientMsgId. */
  readonly pending = new Map<string, Pending>();
  /** Per other participant, the newest message id they have read. */
  readonly readBy = new Map<string, string>();
  /** Per other participant typing, until when (ms) to show it without news. */
  readonly typing = new Map<string, number>();
  /** The next history page: undefined before the first, null when all is loaded. */
  historyCursor: string | null | undefined = undefined;
  unread = 0;
  /** The newest message id reported read to the gateway. */
  readSent: string | undefined;

  constructor(public conversation: Conversation) {}

  add(m: Message): boolean {
    if (this.messages.has(m.messageId)) return false;
    this.messages.set(m.messageId, m);
    this.pending.delete(m.clientMsgId);
    return true;
  }

  sorted(): Message[] {
    return [...this.messages.values()].sort((a, b) => compareMessageIds(a.messageId, b.messageId));
  }

  newest(): Message | undefined {
    let newest: Message | undefined;
    for (const m of this.messages.values()) {
      if (!newest || compareMessageIds(m.messageId, newest.messageId) > 0) newest = m;
    }
    return newest;
  }

  lastActivity(): string {
    const sentAt = this.newest()?.sentAt;
    const updated = this.conversation.lastUpdated;
    return sentAt && sentAt > updated ? sentAt : updated;
  }

  /** Records that `userId` read up to `messageId`; positions never move back. */
  read(userId: string, messageId: string) {
    const current = this.readBy.get(userId);
    if (!current || compareMessageIds(messageId, current) > 0) this.readBy.set(userId, messageId);
  }

  readersOf(m: Message): number {
    let count = 0;
    for (const id of this.readBy.values()) if (compareMessageIds(id, m.messageId) >= 0) count++;
    return count;
  }
}

export class Store {
  readonly conversations = new Map<string, ConversationState>();

  constructor(readonly me: string) {}

  /** Adds or refreshes a conversation; one first known from a message gets a placeholder. */
  upsert(c: Conversation): ConversationState {
    const existing = this.conversations.get(c.conversationId);
    if (existing) {
      existing.conversation = c;
      return existing;
    }
    const state = new ConversationState(c);
    this.conversations.set(c.conversationId, state);
    return state;
  }

  forMessage(m: Message): ConversationState {
    return (
      this.conversations.get(m.conversationId) ??
      this.upsert({
        conversationId: m.conversationId,
        kind: "direct",
        participantIds: [this.me, m.senderId],
        lastMessage: null,
        lastUpdated: m.sentAt,
      })
    );
  }

  /** Most recent activity first. */
  ordered(): ConversationState[] {
    return [...this.conversations.values()].sort((a, b) =>
      b.lastActivity().localeCompare(a.lastActivity()),
    );
  }
}
