// Conversations and their bookkeeping: who takes part, creating them, the inbox that lists them
// by recent activity, read positions, and the signals (typing, receipts) among participants.
import { z } from "zod";
import { compareMessageIds } from "../../shared/message-id.js";
import type { Conversation, ReceiptEvent } from "../../shared/protocol.js";
import type { ValidRequest } from "../../shared/schemas.js";
import { badRequest, notFound } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ConversationRepository } from "../storage/conversation-repository.js";
import type { MessageRepository } from "../storage/message-repository.js";
import type {
  ConversationRecord,
  InboxEntry,
  InboxRow,
  MembershipChange,
  Touch,
} from "../storage/records.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { InboxPage, type InboxPosition } from "./inbox-page.js";
import {
  canonicalPair,
  directConversationId,
  newGroupId,
  windowStart,
  writeMicros,
} from "./ids.js";
import { Lru } from "./lru.js";
import type { NameService } from "./name-service.js";
import type { FanOut } from "./ports.js";
import { countUnread } from "./unread.js";
import { NOTHING_READ, toConversation } from "./wire.js";

export type StorageOptions = { messageBucketMs: number; inboxSlotMs: number };

/** Inbox page size when walking back to a time: most syncs find their changes in the first. */
const ACTIVE_PAGE = 20;

const listCursor = z.object({ s: z.number().int(), u: z.number().int(), c: z.guid() });

/** What this node has written for a conversation and slot: inbox rows of a kind, or sync rows. */
const slotKey = (row: { conversationId: string; slot: Date; kind: InboxRow["kind"] | "change" }) =>
  `${row.conversationId}@${row.slot.getTime()}@${row.kind}`;

const others = (c: ConversationRecord, userId: string) =>
  c.participantIds.filter((p) => p !== userId);

export class ConversationService {
  // Participants, kind and bucket size change only through a membership change, which makes
  // every node forget its copy before it is acknowledged, so every node may keep them.
  private readonly facts = new Lru<string, ConversationRecord>(50_000);
  // Counts forgotten copies: a read that started before one is not cached, as it may be stale.
  private forgets = 0;
  // Inbox rows this node has written: one write per conversation and slot, not per message.
  private readonly writtenSlots = new Lru<string, true>(100_000);

  constructor(
    private readonly deps: {
      repo: ConversationRepository;
      /** For unread counts, which are read from the message rows. */
      messageRows: MessageRepository;
      fanOut: FanOut;
      names: NameService;
      opts: StorageOptions;
      log: Logger;
    },
  ) {}

  /**
   * The conversation, if the user takes part in it. Anyone else gets the same NOT_FOUND whether
   * or not it exists: direct conversation ids can be computed from two user ids, so any other
   * answer would tell who talks to whom.
   */
  async requireParticipant(userId: string, conversationId: string): Promise<ConversationRecord> {
    const id = conversationId.toLowerCase();
    const record = this.facts.get(id) ?? (await this.load(id));
    if (!record?.participantIds.includes(userId)) throw notFound("no such conversation");
    return record;
  }

  /** The conversation as stored now, cached unless a change was reported while it was read. */
  private async load(conversationId: string): Promise<ConversationRecord | undefined> {
    const forgets = this.forgets;
    const record = (await this.deps.repo.get(conversationId)) ?? undefined;
    if (record && forgets === this.forgets) this.facts.set(conversationId, record);
    return record;
  }

  /** Drops every copy: changes may have been missed (this node's Redis subscriptions broke). */
  forgetAll(): void {
    this.forgets++;
    this.facts.clear();
  }

  /** Drops this node's copy of the conversation: its members or title changed. */
  forget(conversationId: string): void {
    this.forgets++;
    this.facts.delete(conversationId.toLowerCase());
  }

  /**
   * Stores a change of the group's members, admin or title, and returns once every node has
   * forgotten its copy, so none serves the old members after the change is acknowledged.
   */
  async change(c: ConversationRecord, change: MembershipChange): Promise<ConversationRecord> {
    const { repo, fanOut } = this.deps;
    // The added members' inboxes list the group at once, like a creation's (rows first).
    if (change.add?.length) {
      const now = Date.now();
      const { conversationId } = c;
      const slot = windowStart(now, this.deps.opts.inboxSlotMs);
      const row = { slot, kind: "message", at: new Date(now), conversationId } as const;
      await repo.addInboxRows({ userIds: change.add, row });
    }
    // Every member before and after hears of it in sync (the removed ones as removals).
    const touch = this.touch(c, new Date(), [...(change.add ?? []), ...(change.remove ?? [])]);
    await repo.change(c.conversationId, change);
    await repo.saveTouch(touch);
    this.touched(touch);
    this.forget(c.conversationId);
    await fanOut.conversationChanged(c.conversationId);
    const updated = await this.load(c.conversationId);
    if (!updated) throw notFound("no such conversation");
    return updated;
  }

  /**
   * The direct conversation for a send: from this node's cache when known (it never holds one of
   * a user with themself), otherwise as openDirect finds or creates it.
   */
  async direct(userId: string, recipientId: string): Promise<ConversationRecord> {
    return (
      this.facts.get(directConversationId(userId, recipientId)) ??
      this.openDirect(userId, recipientId, "recipientId")
    );
  }

  /** The direct conversation as it is stored now (with its newest message), created on first use. */
  async openDirect(userId: string, peerId: string, field = "peerId"): Promise<ConversationRecord> {
    const peer = peerId.toLowerCase();
    if (peer === userId) throw badRequest(`${field} must be another user`);
    const id = directConversationId(userId, peer);
    const record =
      (await this.deps.repo.get(id)) ??
      (await this.create({
        conversationId: id,
        kind: "direct",
        participantIds: [...canonicalPair(userId, peer)],
      }));
    this.facts.set(id, record);
    return record;
  }

  async createGroup(userId: string, participantIds: string[], title?: string) {
    const members = [...new Set([userId, ...participantIds.map((p) => p.toLowerCase())])].sort();
    if (members.length < 2) throw badRequest("a group needs at least one other participant");
    const record = await this.create({
      conversationId: newGroupId(),
      kind: "group",
      adminId: userId,
      participantIds: members,
      ...(title ? { title } : {}),
    });
    this.facts.set(record.conversationId, record);
    return toConversation(record, NOTHING_READ, await this.deps.names.namesOf(members));
  }

  /** Stores a new conversation (unless another node just did) and tells its participants. */
  private async create(
    facts: Pick<
      ConversationRecord,
      "conversationId" | "kind" | "participantIds" | "title" | "adminId"
    >,
  ): Promise<ConversationRecord> {
    const now = new Date();
    const candidate: ConversationRecord = {
      ...facts,
      bucketMs: this.deps.opts.messageBucketMs,
      createdAt: now,
      lastUpdated: now,
      lastMessage: null,
    };
    // Inbox rows first: list skips a row whose conversation does not exist yet, while a stored
    // conversation without its rows would be missing from its participants' lists.
    const inbox = this.inboxEntry(candidate, candidate.createdAt.getTime(), "created");
    if (inbox) {
      await this.deps.repo.addInboxRows(inbox);
      this.inboxWritten(inbox);
    }
    const { created, record } = await this.deps.repo.createIfAbsent(candidate);
    if (created) {
      const names = await this.deps.names.namesOf(record.participantIds);
      this.deps.fanOut.conversationNew(
        record.participantIds,
        toConversation(record, NOTHING_READ, names),
      );
    }
    return record;
  }

  /**
   * The inbox rows that activity at time `at` needs (a message, or the creation), or null when
   * this node has already written them: one write per conversation, slot and kind, not per
   * message.
   */
  inboxEntry(
    record: ConversationRecord,
    at: number,
    kind: InboxRow["kind"] = "message",
  ): InboxEntry | null {
    const { conversationId } = record;
    const slot = windowStart(at, this.deps.opts.inboxSlotMs);
    if (this.writtenSlots.has(slotKey({ conversationId, slot, kind }))) return null;
    return {
      userIds: record.participantIds,
      row: { slot, kind, at: new Date(at), conversationId },
    };
  }

  /**
   * What a change at `at` (an edit, a reaction, a membership change) writes for sync: the
   * conversation's last_changed, and the members' changes_by_user rows unless this node wrote
   * them for the slot (`also`: users to write them for anyway, such as members just removed).
   */
  touch(c: ConversationRecord, at: Date, also: string[] = []): Touch {
    const { conversationId } = c;
    const slot = windowStart(at.getTime(), this.deps.opts.inboxSlotMs);
    const written = this.writtenSlots.has(slotKey({ conversationId, slot, kind: "change" }));
    const userIds = [...new Set([...(written ? [] : c.participantIds), ...also])];
    return { conversationId, at, slot, userIds };
  }

  /** Remembers that the touch's rows are stored, so later changes of its slot skip them. */
  touched(t: Touch): void {
    this.writtenSlots.set(slotKey({ ...t, kind: "change" }), true);
  }

  /** Remembers that `entry` is stored, so later activity of its slot skips it. */
  inboxWritten(entry: InboxEntry): void {
    this.writtenSlots.set(slotKey(entry.row), true);
  }

  /**
   * Stores the user's read position and tells the other participants, only when it moves
   * forward: marking an older message read changes nothing.
   */
  async markRead(c: ConversationRecord, userId: string, messageId: string): Promise<void> {
    const current = await this.deps.repo.readPosition(c.conversationId, userId);
    if (current && compareMessageIds(messageId, current) <= 0) return;
    const readAt = new Date();
    await this.deps.repo.setReadPosition(
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
    this.deps.fanOut.receipt(others(c, userId), receipt);
  }

  async typing(userId: string, req: ValidRequest<"typing">): Promise<void> {
    const conversation = await this.requireParticipant(userId, req.conversationId);
    this.deps.fanOut.typing(others(conversation, userId), {
      conversationId: conversation.conversationId,
      userId,
      typing: req.typing,
    });
  }

  /** A page of the user's inbox, newest activity first; bounded work (see inbox-page.ts). */
  async list(userId: string, limit: number, cursor?: string) {
    const after = cursor ? decodeCursor(cursor, listCursor) : null;
    const { inboxSlotMs } = this.deps.opts;
    const page = new InboxPage(this.deps.repo, userId, limit, inboxSlotMs, this.deps.log, after);
    const { records, next } = await page.read();
    return {
      conversations: await Promise.all(records.map((r) => this.view(r, userId))),
      nextCursor: next ? encodeCursor(next) : null,
    };
  }

  /** The user's conversations with activity (a message, the creation) after `since`, newest first. */
  async activeSince(userId: string, since: number): Promise<ConversationRecord[]> {
    const found: ConversationRecord[] = [];
    let after: InboxPosition | null = null;
    for (;;) {
      const { repo, opts, log } = this.deps;
      const page: InboxPage = new InboxPage(
        repo,
        userId,
        ACTIVE_PAGE,
        opts.inboxSlotMs,
        log,
        after,
      );
      const { records, next } = await page.read();
      for (const r of records) {
        if (r.lastUpdated.getTime() <= since) return found;
        found.push(r);
      }
      if (!next) return found;
      after = next;
    }
  }

  /**
   * The conversation as `userId` sees it: with their unread count, everyone's read position and
   * the participants' names.
   */
  async view(record: ConversationRecord, userId: string): Promise<Conversation> {
    const [readPositions, names] = await Promise.all([
      this.deps.repo.readPositions(record.conversationId),
      this.deps.names.namesOf(record.participantIds),
    ]);
    const position = readPositions[userId] ?? null;
    const unreadCount = await countUnread(this.deps.messageRows, record, userId, position);
    return toConversation(record, { unreadCount, readPositions }, names);
  }

  /** Whether the message is the conversation's newest as stored now (its preview shows it). */
  async isNewest(conversationId: string, messageId: string): Promise<boolean> {
    const stored = await this.deps.repo.get(conversationId);
    return stored?.lastMessage?.messageId === messageId;
  }
}
