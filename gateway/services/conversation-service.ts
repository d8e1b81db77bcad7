// Conversations and their bookkeeping: who takes part, creating them, the inbox that lists them
// by recent activity, read positions, and the signals (typing, receipts) among participants.
import { z } from "zod";
import { compareMessageIds } from "../../shared/message-id.js";
import type { ReceiptEvent } from "../../shared/protocol.js";
import type { ValidRequest } from "../../shared/schemas.js";
import { badRequest, notFound } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ConversationRepository } from "../storage/conversation-repository.js";
import type { ConversationRecord, InboxEntry, InboxRow } from "../storage/records.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import {
  canonicalPair,
  directConversationId,
  newGroupId,
  windowStart,
  writeMicros,
} from "./ids.js";
import { Lru } from "./lru.js";
import type { FanOut } from "./ports.js";
import { toConversation } from "./wire.js";

export type StorageOptions = { messageBucketMs: number; inboxSlotMs: number };

const listCursor = z.object({ s: z.number().int(), u: z.number().int(), c: z.guid() });

/** Newest activity first, then by id so equal times keep one order across pages. */
const byActivity = (a: ConversationRecord, b: ConversationRecord) =>
  b.lastUpdated.getTime() - a.lastUpdated.getTime() ||
  (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0);

const others = (c: ConversationRecord, userId: string) =>
  c.participantIds.filter((p) => p !== userId);

export class ConversationService {
  // Participants, kind and bucket size never change, so every node may keep them.
  private readonly facts = new Lru<string, ConversationRecord>(50_000);
  // Inbox rows this node has written: one write per conversation and slot, not per message.
  private readonly writtenSlots = new Lru<string, true>(100_000);

  constructor(
    private readonly repo: ConversationRepository,
    private readonly fanOut: FanOut,
    private readonly opts: StorageOptions,
    private readonly log: Logger,
  ) {}

  /**
   * The conversation, if the user takes part in it. Anyone else gets the same NOT_FOUND whether
   * or not it exists: direct conversation ids can be computed from two user ids, so any other
   * answer would tell who talks to whom.
   */
  async requireParticipant(userId: string, conversationId: string): Promise<ConversationRecord> {
    const id = conversationId.toLowerCase();
    let record = this.facts.get(id);
    if (!record) {
      record = (await this.repo.get(id)) ?? undefined;
      if (record) this.facts.set(id, record);
    }
    if (!record?.participantIds.includes(userId)) throw notFound("no such conversation");
    return record;
  }

  /** The direct conversation for a send: from this node's cache when known, created on first use. */
  async direct(userId: string, peerId: string): Promise<ConversationRecord> {
    const peer = peerId.toLowerCase();
    if (peer === userId) throw badRequest("the recipient must be another user");
    return this.facts.get(directConversationId(userId, peer)) ?? this.openDirect(userId, peer);
  }

  /** The direct conversation as it is stored now (with its newest message), created on first use. */
  async openDirect(userId: string, peerId: string): Promise<ConversationRecord> {
    const peer = peerId.toLowerCase();
    if (peer === userId) throw badRequest("peerId must be another user");
    const id = directConversationId(userId, peer);
    const now = new Date();
    const record =
      (await this.repo.get(id)) ??
      (await this.create({
        conversationId: id,
        kind: "direct",
        participantIds: [...canonicalPair(userId, peer)],
        bucketMs: this.opts.messageBucketMs,
        createdAt: now,
        lastUpdated: now,
        lastMessage: null,
      }));
    this.facts.set(id, record);
    return record;
  }

  async createGroup(userId: string, participantIds: string[], title?: string) {
    const members = [...new Set([userId, ...participantIds.map((p) => p.toLowerCase())])].sort();
    if (members.length < 2) throw badRequest("a group needs at least one other participant");
    const now = new Date();
    const record = await this.create({
      conversationId: newGroupId(),
      kind: "group",
      participantIds: members,
      ...(title ? { title } : {}),
      bucketMs: this.opts.messageBucketMs,
      createdAt: now,
      lastUpdated: now,
      lastMessage: null,
    });
    this.facts.set(record.conversationId, record);
    return toConversation(record);
  }

  /** Stores a new conversation (unless another node just did) and tells its participants. */
  private async create(candidate: ConversationRecord): Promise<ConversationRecord> {
    // Inbox rows first: list skips a row whose conversation does not exist yet, while a stored
    // conversation without its rows would be missing from its participants' lists.
    const inbox = this.inboxEntry(candidate, candidate.createdAt.getTime());
    if (inbox) {
      await this.repo.addInboxRows(inbox);
      this.inboxWritten(inbox);
    }
    const { created, record } = await this.repo.createIfAbsent(candidate);
    if (created) this.fanOut.conversationNew(record.participantIds, toConversation(record));
    return record;
  }

  /**
   * The inbox rows a message at time `at` needs, or null when this node has already written them:
   * one write per conversation and inbox slot, not per message.
   */
  inboxEntry(record: ConversationRecord, at: number): InboxEntry | null {
    const slot = windowStart(at, this.opts.inboxSlotMs);
    if (this.writtenSlots.has(`${record.conversationId}@${slot.getTime()}`)) return null;
    return { conversationId: record.conversationId, slot, userIds: record.participantIds };
  }

  /** Remembers that `entry` is stored, so later messages of its slot skip it. */
  inboxWritten(entry: InboxEntry): void {
    this.writtenSlots.set(`${entry.conversationId}@${entry.slot.getTime()}`, true);
  }

  /**
   * Stores the user's read position and tells the other participants, only when it moves
   * forward: marking an older message read changes nothing.
   */
  async markRead(c: ConversationRecord, userId: string, messageId: string): Promise<void> {
    const current = await this.repo.readPosition(c.conversationId, userId);
    if (current && compareMessageIds(messageId, current) <= 0) return;
    const readAt = new Date();
    await this.repo.setReadPosition(
      c.conversationId,
      userId,
      messageId,
      readAt,
      writeMicros(messageId),
    );
    const receipt: ReceiptEvent = {
      conversationId: c.conversationId,
      userId,
      messageId,
      readAt: readAt.toISOString(),
    };
    this.fanOut.receipt(others(c, userId), receipt);
  }

  async typing(userId: string, req: ValidRequest<"typing">): Promise<void> {
    const conversation = await this.requireParticipant(userId, req.conversationId);
    this.fanOut.typing(others(conversation, userId), {
      conversationId: conversation.conversationId,
      userId,
      typing: req.typing,
    });
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
