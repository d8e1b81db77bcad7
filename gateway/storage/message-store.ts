// A message's writes as one storage operation: the message row, its bucket index row, the inbox
// rows that make the conversation listable at its new time and the conversation's newest message,
// in one logged batch, so that a reader never sees one without the others once it is applied,
// and an interrupted send is either wholly stored or not at all (a retry then completes it).
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

  async append({ message: m, bucket, indexBucket, inbox }: MessageAppend): Promise<void> {
    const { messages, conversations } = this.tables;
    await this.db.batch([
      ...(indexBucket ? [messages.addBucket(m.conversationId, bucket)] : []),
      ...(inbox ? conversations.inboxInserts(inbox) : []),
      messages.insert(m, bucket),
      conversations.lastMessage(m.conversationId, m),
    ]);
  }
}
