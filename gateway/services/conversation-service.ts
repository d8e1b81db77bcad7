import type { Conversation } from "../../shared/protocol.js";
import { z } from "zod";
import { badRequest, forbidden, notFound } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ConversationRepository } from "../storage/conversation-repository.js";
import type { ConversationRecord } from "../storage/records.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { InboxPage } from "./inbox-page.js";
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

  /**
   * Puts the conversation in every participant's inbox slot for its activity at `at`, once per
   * slot and node: as created (at its creation time) or as having had a message in the slot.
   */
  async ensureInbox(record: ConversationRecord, at: Date): Promise<void> {
    const slot = windowStart(at.getTime(), this.opts.inboxSlotMs);
    const kind = at.getTime() === record.createdAt.getTime() ? "created" : "message";
    const key = `${record.conversationId}@${slot.getTime()}@${kind}`;
    if (this.inboxWritten.has(key)) return;
    const { conversationId } = record;
    await this.repo.addInboxRows(record.participantIds, { slot, kind, at, conversationId });
    this.inboxWritten.set(key, true);
  }

  /** A page of the user's inbox, newest activity first; bounded work (see inbox-page.ts). */
  async list(userId: string, limit: number, cursor?: string) {
    const after = cursor ? decodeCursor(cursor, listCursor) : null;
    const { inboxSlotMs } = this.opts;
    const page = new InboxPage(this.repo, userId, limit, inboxSlotMs, this.log, after);
    const { records, next } = await page.read();
    return {
      conversations: records.map(toConversation),
      nextCursor: next ? encodeCursor(next) : null,
    };
  }
}
