// A message's writes as one storage operation, in two ordered steps: first the rows that make it
// findable (the message row, its bucket index row, the inbox rows that list the conversation at
// its new time), concurrently; then the conversation's newest message, which points at it. So a
// reader never sees a preview without its message. A send interrupted between or within the
// steps is not acknowledged, and its retry (same clientMsgId, same message id) writes the same
// rows again and completes it. A logged batch would make the rows atomic, but its batch log
// must reach two other replicas: until a dead node is convicted, every batch timed out on a
// 3-node cluster (docs/performance.md), where separate writes at LOCAL_QUORUM do not.
import type { Db } from "./cassandra.js";
import type { ConversationRepository } from "./conversation-repository.js";
import type { MessageRepository } from "./message-repository.js";
import type { MessageAppend } from "./records.js";

export class MessageStore {
  constructor(
    private readonly db: Db,
    private readonly tables: {
      messages: MessageRepository;
      conversations: ConversationRepository;
    },
  ) {}

  async append(entry: MessageAppend): Promise<void> {
    await this.storeMessage(entry);
    await this.storePreview(entry);
  }

  /** The message row and the index rows that lead to it. */
  async storeMessage({ message: m, bucket, indexBucket, inbox }: MessageAppend): Promise<void> {
    const { messages, conversations } = this.tables;
    await this.db.all([
      ...(indexBucket ? [messages.addBucket(m.conversationId, bucket)] : []),
      ...(inbox ? conversations.inboxInserts(inbox) : []),
      messages.insert(m, bucket),
    ]);
  }

  /** The conversation's newest message: written once the message itself is stored. */
  async storePreview({ message: m }: MessageAppend): Promise<void> {
    await this.db.all([this.tables.conversations.lastMessage(m.conversationId, m)]);
  }
}
