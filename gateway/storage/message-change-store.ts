// A message's later states (edit, deletion) and reactions, each as one storage operation in two
// ordered steps, like a send (message-store.ts): first the rows that hold the new state, then the
// change feed entry (and the preview, for the conversation's newest message) that point at it. So
// a client that reads the change sees the state it announces. An interrupted change is answered
// UNAVAILABLE, and repeating the request writes the same rows again and completes it.
import type { Db, Statement } from "./cassandra.js";
import type { ChangeRepository, ChangeRow } from "./change-repository.js";
import type { ClientIdRepository } from "./client-id-repository.js";
import type { ConversationRepository } from "./conversation-repository.js";
import type { MessageRepository } from "./message-repository.js";
import type { MessageAt, ReactionRepository } from "./reaction-repository.js";
import type { MessageState, StoredMessage, Touch } from "./records.js";

/** Where a change is listed: the bucket of its own time, and its id. */
export type ChangeEntry = { bucket: Date } & ChangeRow;

export class MessageChangeStore {
  constructor(
    private readonly db: Db,
    private readonly tables: {
      messages: MessageRepository;
      conversations: ConversationRepository;
      changes: ChangeRepository;
      clientIds: ClientIdRepository;
      reactions: ReactionRepository;
    },
  ) {}

  /**
   * Stores `state` of message `m` (in `bucket`); `isNewest` also moves the conversation's preview.
   * A deletion also clears the content its send's idempotency record kept.
   */
  async setState(
    m: StoredMessage,
    bucket: Date,
    state: MessageState,
    change: ChangeEntry,
    isNewest: boolean,
    touch: Touch,
  ): Promise<void> {
    const { messages, conversations, clientIds } = this.tables;
    await this.db.all([
      messages.setState(m.conversationId, bucket, m.messageId, state),
      ...(state.deleted ? [clientIds.forgetContent(m)] : []),
    ]);
    await this.db.all([
      this.entry(m.conversationId, change),
      ...conversations.touch(touch),
      ...(isNewest
        ? [conversations.lastMessage(m.conversationId, { ...m, ...state }, state.version)]
        : []),
    ]);
  }

  /** Adds or removes one user's reaction, then lists the change. */
  async react(
    at: MessageAt,
    reaction: { emoji: string; userId: string; added: boolean },
    change: ChangeEntry,
    touch: Touch,
  ): Promise<void> {
    const { reactions, conversations } = this.tables;
    const { emoji, userId } = reaction;
    await (reaction.added ? reactions.add(at, emoji, userId) : reactions.remove(at, emoji, userId));
    await this.db.all([this.entry(at.conversationId, change), ...conversations.touch(touch)]);
  }

  private entry(conversationId: string, { bucket, ...row }: ChangeEntry): Statement {
    return this.tables.changes.record(conversationId, bucket, row);
  }
}
