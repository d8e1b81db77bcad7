// A user's unread count in a conversation, read from the message rows rather than kept by a write
// per recipient per message: the others' messages after the user's read position, newest first,
// stopping at the user's own newest message (sending implies having read what came before).
import { MAX_UNREAD } from "../../shared/limits.js";
import { compareMessageIds } from "../../shared/message-id.js";
import type { MessageRepository } from "../storage/message-repository.js";
import type { ConversationRecord } from "../storage/records.js";
import { bucketOf } from "./ids.js";

/** Rows read at most per count: past this many (deleted ones included) the count is capped. */
const MAX_SCANNED = 5 * MAX_UNREAD;

export async function countUnread(
  rows: MessageRepository,
  c: ConversationRecord,
  userId: string,
  position: string | null,
): Promise<number> {
  const last = c.lastMessage;
  if (!last || last.senderId === userId) return 0;
  if (position && compareMessageIds(last.messageId, position) <= 0) return 0;
  const from = position ? bucketOf(c, position).getTime() : null;
  let unread = 0;
  let scanned = 0;
  /** Counts one bucket's messages; true when the count is final. */
  const count = async (bucket: Date): Promise<boolean> => {
    const after = bucket.getTime() === from ? position : null;
    const marks = await rows.marks(c.conversationId, bucket, after, MAX_SCANNED - scanned);
    for (const m of marks) {
      if (m.senderId === userId) return true;
      if (!m.deleted && ++unread >= MAX_UNREAD) return true;
    }
    scanned += marks.length;
    if (scanned >= MAX_SCANNED) unread = MAX_UNREAD;
    return scanned >= MAX_SCANNED || bucket.getTime() === from;
  };
  // The newest message's bucket is known without asking the bucket index, and most counts end
  // in it: one round trip. Older buckets come from the index.
  const newest = bucketOf(c, last.messageId);
  if (await count(newest)) return unread;
  const older = new Date(newest.getTime() - 1);
  for await (const bucket of rows.buckets(c.conversationId, older, "older")) {
    if (from !== null && bucket.getTime() < from) break;
    if (await count(bucket)) break;
  }
  return unread;
}
