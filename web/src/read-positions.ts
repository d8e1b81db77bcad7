// Where this user last read each conversation, kept in the browser: the gateway does not return
// unread counts, so a reload still marks conversations with news since the last visit.
import { compareMessageIds } from "../../shared/message-id.js";

export class ReadPositions {
  private readonly key: string;
  private readonly positions: Record<string, string>;

  constructor(userId: string) {
    this.key = `chat.read.${userId}`;
    try {
      this.positions = JSON.parse(localStorage.getItem(this.key) ?? "{}") as Record<string, string>;
    } catch {
      this.positions = {};
    }
  }

  isUnread(conversationId: string, messageId: string): boolean {
    const read = this.positions[conversationId];
    return !read || compareMessageIds(messageId, read) > 0;
  }

  markRead(conversationId: string, messageId: string) {
    if (!this.isUnread(conversationId, messageId)) return;
    this.positions[conversationId] = messageId;
    localStorage.setItem(this.key, JSON.stringify(this.positions));
  }
}
