import type { Conversation } from "../../shared/protocol.js";
import { z } from "zod";
import { badRequest, forbidden, notFound } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ConversationRepository } from "../storage/conversation-repository.js";
import type { ConversationRecord, InboxRow } from "../storage/records.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { canonicalPair, directConversationId, newGroupId, windowStart } from "./ids.js";
import { Lru } from "./lru.js";
import type { FanOut } from "./ports.js";

export type StorageOptions = { messageBucketMs: number; inboxSlotMs: number };

const listCursor = z.object({ s: z.number().int(), u: z.number().int(), c: z.guid() });

export function toConversation(r: ConversationRecord): Conversation {
  return {
    conversationId: r.conversationId,
    kind: r.kind,
    participantIds: r.participantIds,
    ...(r.title ? { title: r.title } : {}),
    lastMessage: r.lastMessage,
    lastUpdated: r.lastUpdated.toISOString(),
  };
}

/** Newest activity first, then by id so equal times keep one order across pages. */
const byActivity = (a: ConversationRecord, b: ConversationRecord) =>
  b.lastUpdated.getTime() - a.lastUpdated.getTime() ||
  (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0);

export class ConversationService {
  // Participants, kind and bucket size never change, so every node may keep them.
  private readonly facts = new Lru<string, ConversationRecord>(50_000);
  // Inbox rows this node has written: one write per conversation and slot, not per message.
  private readonly inboxWritten = new Lru<string, true>(100_000);

  constructor(
    private readonly repo: ConversationRepository,
    private readonly fanOut: FanOut,
    private readonly opts: StorageOptions,
    private readonly log: Logger,
  ) {}

  /** The conversation, if the user takes part in it: NOT_FOUND or FORBIDDEN otherwise. */
  async requireParticipant(userId: string, conversationId: string): Promise<ConversationRecord> {
    const id = conversationId.toLowerCase();
    let record = this.facts.get(id);
    if (!record) {
      record = (await this.repo.get(id)) ?? undefined;
      if (!record) throw notFound("no such conversation");
      this.facts.set(id, record);
    }
    if (!record.participantIds.includes(userId)) throw forbidden();
    return record;
  }

  /** The direct conversation for a send: its participants, from this node's cache when known. */
  async direct(userId: string, peerId: string): Promise<ConversationRecord> {
    const peer = peerId.toLowerCase();
    return this.facts.get(directConversationId(userId, peer)) ?? this.openDirect(userId, peer);
  }

  /** The direct conversation as it is stored now (with its newest message), created on first use. */
  async openDirect(userId: string, peerId: string): Promise<ConversationRecord> {
    const peer = peerId.toLowerCase();
    if (peer === userId) throw badRequest("peerId must be another user");
    const id = directConversationId(userId, peer);
    const now = new Date();
    const candidate: ConversationRecord = {
      conversationId: id,
      kind: "direct",
      participantIds: [...canonicalPair(userId, peer)],
      bucketMs: this.opts.messageBucketMs,
      createdAt: now,
      lastUpdated: now,
      lastMessage: null,
    };
    const existing = await this.repo.get(id);
    const { created, record } = existing
      ? { created: false, record: existing }
      : await this.repo.createIfAbsent(candidate);
    await this.ensureInbox(record, record.lastUpdated);
    this.facts.set(id, record);
    if (created) this.fanOut.conversationNew(record.participantIds, toConversation(record));
    return record;
  }

  async createGroup(userId: string, participantIds: string[], title?: string) {
    const members = [...new Set([userId, ...participantIds.map((p) => p.toLowerCase())])].sort();
    if (members.length < 2) throw badRequest("a group needs at least one other participant");
    const now = new Date();
    const record: ConversationRecord = {
      conversationId: newGroupId(),
      kind: "group",
      participantIds: members,
      ...(title ? { title } : {}),
      bucketMs: this.opts.messageBucketMs,
      createdAt: now,
      lastUpdated: now,
      lastMessage: null,
    };
    await this.repo.createIfAbsent(record);
    await this.ensureInbox(record, now);
    this.facts.set(record.conversationId, record);
    const view = toConversation(record);
    this.fanOut.conversationNew(members, view);
    return view;
  }

  /** Puts the conversation in every participant's inbox slot for time `at`, once per node. */
  async ensureInbox(record: ConversationRecord, at: Date): Promise<void> {
    const slot = windowStart(at.getTime(), this.opts.inboxSlotMs);
    const key = `${record.conversationId}@${slot.getTime()}`;
    if (this.inboxWritten.has(key)) return;
    await this.repo.addInboxRows(record.participantIds, slot, record.conversationId);
    this.inboxWritten.set(key, true);
  }

  async list(userId: string, limit: number, cursor?: string) {
    const after = cursor ? decodeCursor(cursor, listCursor) : null;
    const found: { slot: Date; record: ConversationRecord }[] = [];
    const seen = new Set<string>();
    let pending: InboxRow[] = [];

    // A slot's rows are only ordered once all of them are read, so pages end on slot boundaries.
    const flush = async () => {
      const rows = pending;
      pending = [];
      const records = await Promise.all(rows.map((r) => this.repo.get(r.conversationId)));
      const current = rows.flatMap((row, i) => {
        const record = records[i];
        if (!record || seen.has(record.conversationId)) return [];
        if (!record.participantIds.includes(userId)) return [];
        const slot = windowStart(record.lastUpdated.getTime(), this.opts.inboxSlotMs);
        if (row.slot.getTime() < slot.getTime()) {
          // Left behind when the conversation moved to a newer slot.
          this.repo
            .removeInboxRow(userId, row)
            .catch((err: unknown) => this.log.warn({ err }, "stale inbox row not removed"));
          return [];
        }
        // A newer row whose send has not finished: the conversation still shows at its old slot.
        if (row.slot.getTime() > slot.getTime()) return [];
        seen.add(record.conversationId);
        return [{ slot: row.slot, record }];
      });
      current.sort((a, b) => byActivity(a.record, b.record));
      for (const item of current) {
        if (after && item.slot.getTime() === after.s && !isAfter(item.record, after)) continue;
        found.push(item);
      }
    };

    for await (const row of this.repo.inboxRows(userId, after ? new Date(after.s) : null, 200)) {
      if (pending.length > 0 && pending[0]?.slot.getTime() !== row.slot.getTime()) {
        await flush();
        if (found.length > limit) break;
      }
      pending.push(row);
    }
    if (found.length <= limit) await flush();

    const page = found.slice(0, limit);
    const last = page.at(-1);
    const nextCursor =
      found.length > limit && last
        ? encodeCursor({
            s: last.slot.getTime(),
            u: last.record.lastUpdated.getTime(),
            c: last.record.conversationId,
          })
        : null;
    return { conversations: page.map((p) => toConversation(p.record)), nextCursor };
  }
}

function isAfter(r: ConversationRecord, cursor: { u: number; c: string }): boolean {
  const t = r.lastUpdated.getTime();
  return t < cursor.u || (t === cursor.u && r.conversationId > cursor.c);
}
