// One page of a user's inbox, newest activity first, from the rows of cql/004_inbox_by_user.cql,
// read as one stream in clustering order. A slot's `message` rows come first and are read whole:
// their conversations' order is known only from their records. Its `created` rows follow in
// order, a chunk at a time: a conversation without messages was last active exactly when it was
// created. So a page reads its slots' message rows plus about as many created rows as it lists,
// however many conversations were created in one slot, and it stops early, with a cursor, once
// it has examined PAGE_WORK rows.
import type { Logger } from "../logger.js";
import type { ConversationRepository } from "../storage/conversation-repository.js";
import type { ConversationRecord, InboxRow } from "../storage/records.js";
import { windowStart } from "./ids.js";

/** A place in the inbox order (slot, last activity, id): everything up to it has been listed. */
export type InboxPosition = { s: number; u: number; c: string };

/** Rows (and slots) a page may examine beyond 4 per conversation asked for. */
const PAGE_WORK = 200;
/** Sorts before every real id: a place before all conversations of one instant. */
const BEFORE_ALL_IDS = "00000000-0000-0000-0000-000000000000";

/** Newest activity first, then by id so equal times keep one order across pages. */
export const byActivity = (a: ConversationRecord, b: ConversationRecord) =>
  b.lastUpdated.getTime() - a.lastUpdated.getTime() ||
  (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0);

type Place = { u: number; c: string };
const placeOf = (r: ConversationRecord): Place => ({
  u: r.lastUpdated.getTime(),
  c: r.conversationId,
});

/** True when `r` comes after the place in the inbox order. */
function isAfter(r: ConversationRecord, p: Place): boolean {
  const t = r.lastUpdated.getTime();
  return t < p.u || (t === p.u && r.conversationId > p.c);
}

/** The slot being listed: its message rows, then (once loaded) its active conversations. */
type SlotState = {
  slot: Date;
  messageRows: InboxRow[];
  created: InboxRow[];
  /** Active conversations not listed yet, in order; loaded at the first created row or the end. */
  pending?: ConversationRecord[];
  activeIds?: Set<string>;
};

export class InboxPage {
  private readonly found: { slot: Date; record: ConversationRecord }[] = [];
  /** Records asked for as their rows arrive, so a fetched page of rows costs one round trip. */
  private readonly records = new Map<string, Promise<ConversationRecord | null>>();
  private work: number;
  private readonly chunkSize: number;

  constructor(
    private readonly repo: ConversationRepository,
    private readonly userId: string,
    private readonly limit: number,
    private readonly slotMs: number,
    private readonly log: Logger,
    private readonly after: InboxPosition | null,
  ) {
    this.work = PAGE_WORK + 4 * limit;
    this.chunkSize = Math.min(100, Math.max(10, limit + 1));
  }

  private get full() {
    return this.found.length > this.limit;
  }

  /** The page, and where the next one starts (null: nothing more). */
  async read(): Promise<{ records: ConversationRecord[]; next: InboxPosition | null }> {
    const after = this.after;
    const from = after
      ? { slot: new Date(after.s), at: new Date(after.u), conversationId: after.c }
      : null;
    let state: SlotState | undefined;
    let stop: InboxPosition | null = null;
    for await (const row of this.repo.inboxRows(this.userId, from, this.chunkSize)) {
      if (state && row.slot.getTime() !== state.slot.getTime()) {
        await this.finish(state);
        if (this.full) break;
        // The whole slot is listed: the next page may start below it.
        const below = state.slot.getTime() - 1;
        state = undefined;
        if (--this.work <= 0) {
          stop = { s: below, u: below, c: BEFORE_ALL_IDS };
          break;
        }
      }
      state ??= { slot: row.slot, messageRows: [], created: [] };
      this.work--;
      this.prefetch(row.conversationId);
      if (row.kind === "message") {
        state.messageRows.push(row);
        continue;
      }
      state.created.push(row);
      if (state.created.length < this.chunkSize) continue;
      await this.flushCreated(state);
      if (this.full) break;
      if (this.work <= 0) {
        // Everything up to this row is listed; the next page starts after it.
        const place = { u: row.at.getTime(), c: row.conversationId };
        this.emitActiveBefore(state, place);
        if (!this.full) stop = { s: row.slot.getTime(), ...place };
        break;
      }
    }
    if (state && !this.full && !stop) await this.finish(state);
    if (stop) return { records: this.found.map((f) => f.record), next: stop };
    const page = this.found.slice(0, this.limit);
    const last = page.at(-1);
    const next = this.full && last ? { s: last.slot.getTime(), ...placeOf(last.record) } : null;
    return { records: page.map((p) => p.record), next };
  }

  private async finish(state: SlotState) {
    await this.flushCreated(state);
    if (!this.full) this.emitActiveBefore(state);
  }

  /** Lists the created rows read so far, each after the active conversations before it. */
  private async flushCreated(state: SlotState) {
    const rows = state.created;
    state.created = [];
    const [, created] = await Promise.all([
      this.loadActive(state),
      this.createdConversations(rows),
    ]);
    for (const record of created) {
      if (state.activeIds!.has(record.conversationId)) continue;
      if (this.after && !isAfter(record, this.after)) continue;
      this.emitActiveBefore(state, placeOf(record));
      if (this.full) return;
      this.emit(state, record);
      if (this.full) return;
    }
  }

  /** Lists the slot's active conversations before the place (all of them without one). */
  private emitActiveBefore(state: SlotState, place?: Place) {
    const pending = state.pending ?? [];
    while (pending[0] && !this.full && (!place || !isAfter(pending[0], place))) {
      this.emit(state, pending.shift()!);
    }
  }

  private emit(state: SlotState, record: ConversationRecord) {
    this.found.push({ slot: state.slot, record });
  }

  /** The conversations whose message rows are in this slot and whose activity is in it. */
  private async loadActive(state: SlotState) {
    if (state.pending) return;
    const rows = state.messageRows;
    const records = await Promise.all(rows.map((r) => this.prefetch(r.conversationId)));
    const active = new Map<string, ConversationRecord>();
    rows.forEach((row, i) => {
      const record = records[i];
      if (!record || !record.participantIds.includes(this.userId)) return;
      const current = windowStart(record.lastUpdated.getTime(), this.slotMs).getTime();
      // Left behind when the conversation moved to a newer slot.
      if (current > state.slot.getTime()) return this.remove(row);
      // A send still writing its message: the conversation shows at its older place until then.
      if (current === state.slot.getTime()) active.set(record.conversationId, record);
    });
    state.activeIds = new Set(active.keys());
    const after = this.after;
    state.pending = [...active.values()]
      .filter((r) => !after || isAfter(r, after))
      .sort(byActivity);
  }

  /** The rows' conversations that still have no message, so sit where they were created. */
  private async createdConversations(rows: InboxRow[]) {
    const records = await Promise.all(rows.map((r) => this.prefetch(r.conversationId)));
    return rows.flatMap((row, i) => {
      const record = records[i];
      if (!record || !record.participantIds.includes(this.userId)) return [];
      // It has had a message since: the message row, written before the message, places it.
      if (record.lastUpdated.getTime() !== row.at.getTime()) return this.remove(row);
      return [record];
    });
  }

  private prefetch(conversationId: string): Promise<ConversationRecord | null> {
    let record = this.records.get(conversationId);
    if (!record) {
      record = this.repo.get(conversationId);
      // Awaited where it is used; a page that ends first never looks at it.
      record.catch(() => undefined);
      this.records.set(conversationId, record);
    }
    return record;
  }

  private remove(row: InboxRow): [] {
    this.repo
      .removeInboxRow(this.userId, row)
      .catch((err: unknown) => this.log.warn({ err }, "stale inbox row not removed"));
    return [];
  }
}
