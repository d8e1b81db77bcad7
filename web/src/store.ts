// The page's model of what the user sees: conversations, their messages, sends in flight,
// receipts, unread counts and who is typing. Messages are kept by id, so one shown twice is
// impossible; a message's later states (edits, deletion, reactions) replace it by version.
import { REPLY_PREVIEW_CHARS } from "../../shared/limits.js";
import { compareMessageIds } from "../../shared/message-id.js";
import type {
  Conversation,
  Message,
  MessageDeletedEvent,
  MessageEditedEvent,
  MessageSummary,
  ReactionCount,
  ReactionEvent,
  ReplyPreview,
} from "../../shared/protocol.js";
import { shortId } from "./dom.js";

export type Pending = {
  clientMsgId: string;
  content: string;
  state: "pending" | "failed";
  replyTo?: ReplyPreview;
};

const versionOf = (m: { version?: number }) => m.version ?? 0;

/** By code point, as the gateway lists them (Cassandra orders text by its UTF-8 bytes). */
function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0) ?? 0);
  const y = [...b].map((c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return x.length - y.length;
}

/** What a reply shows of `original`, as the gateway computes it. */
export function previewOf(original: Message): ReplyPreview {
  const { messageId, senderId } = original;
  if (original.deleted) return { messageId, senderId, preview: "", deleted: true };
  const preview = [...original.content].slice(0, REPLY_PREVIEW_CHARS).join("");
  return { messageId, senderId, preview };
}

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

  constructor(
    public conversation: Conversation,
    private readonly me: string,
  ) {
    this.seed(conversation);
  }

  /** Takes the gateway's view of the conversation: its summary and everyone's read position. */
  seed(c: Conversation) {
    this.conversation = c;
    for (const [userId, messageId] of Object.entries(c.readPositions)) {
      if (userId === this.me) {
        if (!this.readSent || compareMessageIds(messageId, this.readSent) > 0) {
          this.readSent = messageId;
        }
      } else this.read(userId, messageId);
    }
  }

  /**
   * Holds a message not held yet, or a newer state of a held one (a state replaces a copy whose
   * version is not higher); true only when the message is new.
   */
  put(m: Message): boolean {
    const held = this.messages.get(m.messageId);
    if (held && versionOf(m) < versionOf(held)) return false;
    this.messages.set(m.messageId, { ...m, reactions: sortReactions(m.reactions) });
    this.pending.delete(m.clientMsgId);
    if (held) this.changed(this.messages.get(m.messageId) as Message);
    return !held;
  }

  /** Applies a live edit; false when the message is not held or the edit is stale. */
  edited(e: MessageEditedEvent): boolean {
    const last = this.conversation.lastMessage;
    if (last?.messageId === e.messageId && !last.deleted) {
      this.followSummary({ ...last, content: e.content, editedAt: e.editedAt });
    }
    return this.update(e.messageId, e.version, (m) => ({
      ...m,
      content: e.content,
      editedAt: e.editedAt,
      version: e.version,
    }));
  }

  /** Applies a live deletion: a placeholder stays in place, without content or reactions. */
  deleted(e: MessageDeletedEvent): boolean {
    const last = this.conversation.lastMessage;
    if (last?.messageId === e.messageId)
      this.followSummary({ ...last, content: "", deleted: true });
    // As the gateway shows a placeholder: no reactions, nothing it answers.
    return this.update(e.messageId, e.version, ({ reactions: _, replyTo: __, ...rest }) => ({
      ...rest,
      content: "",
      deleted: true,
      version: e.version,
    }));
  }

  /** Applies a live reaction: the emoji's new count, and whether it is now one of mine. */
  reacted(e: ReactionEvent): boolean {
    const held = this.messages.get(e.messageId);
    if (!held || held.deleted) return false;
    const old = held.reactions?.find((r) => r.emoji === e.emoji);
    const me = e.userId === this.me ? e.added : (old?.me ?? false);
    const others = (held.reactions ?? []).filter((r) => r.emoji !== e.emoji);
    const next = e.count > 0 ? [...others, { emoji: e.emoji, count: e.count, me }] : others;
    this.messages.set(e.messageId, { ...held, reactions: sortReactions(next) });
    return true;
  }

  private update(id: string, version: number, change: (m: Message) => Message): boolean {
    const held = this.messages.get(id);
    if (!held || version < versionOf(held)) return false;
    const next = change(held);
    this.messages.set(id, next);
    this.changed(next);
    return true;
  }

  /** The replies to `m` and the conversation's preview follow its new state. */
  private changed(m: Message) {
    const quote = previewOf(m);
    for (const [id, reply] of this.messages) {
      if (reply.replyTo?.messageId === m.messageId)
        this.messages.set(id, { ...reply, replyTo: quote });
    }
    this.followSummary(m);
  }

  /** The newest message known: held, or the one the gateway listed. */
  last(): Message | MessageSummary | null {
    const held = this.newest();
    const listed = this.conversation.lastMessage;
    if (!held || !listed) return held ?? listed;
    return compareMessageIds(held.messageId, listed.messageId) >= 0 ? held : listed;
  }

  /** Updates the listed last message when it is `m` (edited or deleted). */
  followSummary(m: Message | MessageSummary) {
    const last = this.conversation.lastMessage;
    if (last?.messageId !== m.messageId) return;
    const { messageId, senderId, content, sentAt, editedAt, deleted } = m;
    const summary: MessageSummary = { messageId, senderId, content, sentAt };
    if (editedAt) summary.editedAt = editedAt;
    if (deleted) summary.deleted = deleted;
    this.conversation = { ...this.conversation, lastMessage: summary };
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

  /** The newest of my messages that can still be edited. */
  lastEditable(): Message | undefined {
    return this.sorted()
      .reverse()
      .find((m) => m.senderId === this.me && !m.deleted && !m.system);
  }

  /** Others' messages held that are newer than `messageId` (those a count made then missed). */
  othersAfter(messageId: string | undefined): number {
    let count = 0;
    for (const m of this.messages.values()) {
      const newer = !messageId || compareMessageIds(m.messageId, messageId) > 0;
      if (newer && m.senderId !== this.me && !m.deleted) count++;
    }
    return count;
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

function sortReactions(reactions: ReactionCount[] | undefined): ReactionCount[] | undefined {
  if (!reactions?.length) return undefined;
  return [...reactions].sort((a, b) => byCodePoint(a.emoji, b.emoji));
}

export class Store {
  readonly conversations = new Map<string, ConversationState>();
  // Names are the user's, not the conversation's: kept from every conversation seen, so a
  // former member's messages still show the name they had.
  private readonly names = new Map<string, string>();

  constructor(readonly me: string) {}

  /** Takes the names the gateway gave with a conversation or its update. */
  learnNames(names: Record<string, string>) {
    for (const [userId, name] of Object.entries(names)) this.names.set(userId, name);
  }

  /** The user's display name, or the short form of their id when none is known. */
  nameOf = (userId: string): string => this.names.get(userId) ?? shortId(userId);

  /** Adds or refreshes a conversation from the gateway's view of it. */
  upsert(c: Conversation): ConversationState {
    this.learnNames(c.names);
    const existing = this.conversations.get(c.conversationId);
    if (existing) {
      existing.seed(c);
      return existing;
    }
    const state = new ConversationState(c, this.me);
    this.conversations.set(c.conversationId, state);
    return state;
  }

  /** The conversation of `m`; one first known from a message gets a placeholder. */
  forMessage(m: Message): ConversationState {
    return (
      this.conversations.get(m.conversationId) ??
      this.upsert({
        conversationId: m.conversationId,
        kind: "direct",
        participantIds: [this.me, m.senderId],
        lastMessage: null,
        lastUpdated: m.sentAt,
        unreadCount: 0,
        readPositions: {},
        names: {},
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
