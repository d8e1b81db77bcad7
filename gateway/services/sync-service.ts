// Catch-up in one request: from a position the client holds, the conversations that changed
// since (new messages from the inbox, other changes from changes_by_user), each flagged with
// what to fetch, so a client with 500 conversations of which 5 changed asks about 5, not 500.
import { z } from "zod";
import { minMessageIdAt } from "../../shared/message-id.js";
import type { SyncEntry } from "../../shared/protocol.js";
import type { ValidRequest } from "../../shared/schemas.js";
import type { ConversationRepository } from "../storage/conversation-repository.js";
import type { ConversationRecord } from "../storage/records.js";
import type { ConversationService } from "./conversation-service.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { windowStart } from "./ids.js";

/**
 * A position starts this long before its answer: a change is timed before it is stored, so one
 * made just before the answer can become visible after it (as the message catch-up's overlap).
 */
const OVERLAP_MS = 30_000;

const position = z.object({ t: z.number().int() });
/** A later page: the walk's position (s), the next position (p), and the place reached (u, c). */
const syncCursor = z.object({
  s: z.number().int(),
  p: z.number().int(),
  u: z.number().int(),
  c: z.guid(),
});

/** The newest activity of any kind: the order of a sync's conversations. */
const lastTouched = (r: ConversationRecord) =>
  Math.max(r.lastUpdated.getTime(), r.lastChanged?.getTime() ?? 0);

export class SyncService {
  constructor(
    private readonly deps: {
      conversations: ConversationService;
      repo: ConversationRepository;
      inboxSlotMs: number;
    },
  ) {}

  async sync(userId: string, req: ValidRequest<"sync">) {
    const walk = req.cursor
      ? decodeCursor(req.cursor, syncCursor)
      : req.position
        ? { s: decodeCursor(req.position, position).t, p: Date.now() - OVERLAP_MS }
        : null;
    // Without a position there is nothing to compare with: the answer is a first position.
    if (!walk) {
      const now = Date.now() - OVERLAP_MS;
      const next = encodeCursor({ t: now });
      return {
        conversations: [],
        removed: [],
        position: next,
        after: minMessageIdAt(now),
        nextCursor: null,
      };
    }
    const since = walk.s;
    const { member, removed } = await this.changedSince(userId, since);
    const place = "u" in walk ? walk : null;
    const ordered = member
      .map((r) => ({ r, t: lastTouched(r) }))
      .sort((a, b) => b.t - a.t || (a.r.conversationId < b.r.conversationId ? -1 : 1))
      .filter(({ r, t }) => !place || t < place.u || (t === place.u && r.conversationId > place.c));
    const page = ordered.slice(0, req.limit);
    const conversations: SyncEntry[] = await Promise.all(
      page.map(async ({ r }) => ({
        conversation: await this.deps.conversations.view(r, userId),
        messages: r.lastUpdated.getTime() > since,
        changes: (r.lastChanged?.getTime() ?? 0) > since,
      })),
    );
    const last = page.at(-1);
    return {
      conversations,
      // Listed on the first page only: they are few, and have no place in the order.
      removed: place ? [] : removed,
      position: encodeCursor({ t: walk.p }),
      after: minMessageIdAt(since),
      nextCursor:
        ordered.length > req.limit && last
          ? encodeCursor({ s: since, p: walk.p, u: last.t, c: last.r.conversationId })
          : null,
    };
  }

  /** The user's conversations touched after `since`, and those they no longer take part in. */
  private async changedSince(userId: string, since: number) {
    const { conversations, repo, inboxSlotMs } = this.deps;
    const found = new Map<string, ConversationRecord>();
    for (const r of await conversations.activeSince(userId, since)) found.set(r.conversationId, r);
    const removed: string[] = [];
    const others = new Set<string>();
    for await (const id of repo.changedSince(userId, windowStart(since, inboxSlotMs))) {
      if (!found.has(id)) others.add(id);
    }
    const records = await Promise.all([...others].map((id) => repo.get(id)));
    for (const r of records) {
      if (!r || (r.lastChanged?.getTime() ?? 0) <= since) continue;
      if (r.participantIds.includes(userId)) found.set(r.conversationId, r);
      else removed.push(r.conversationId);
    }
    return { member: [...found.values()], removed };
  }
}
