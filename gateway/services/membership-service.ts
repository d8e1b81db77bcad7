// Groups whose members change: the admin (the creator, then whoever it passes to) adds and
// removes members and renames the group; any member may leave. Each change is stored, every node
// forgets its cached members before the answer (so none delivers to a removed member after it),
// then it is recorded in history as a system message and announced.
import { MAX_GROUP_PARTICIPANTS } from "../../shared/limits.js";
import type { ConversationUpdatedEvent } from "../../shared/protocol.js";
import type { ValidRequest } from "../../shared/schemas.js";
import { badRequest, forbidden } from "../errors.js";
import type { ConversationRecord } from "../storage/records.js";
import type { ConversationService } from "./conversation-service.js";
import type { MessageService } from "./message-service.js";
import type { NameService } from "./name-service.js";
import type { FanOut } from "./ports.js";

const factsOf = (
  c: ConversationRecord,
  names: ConversationUpdatedEvent["names"],
): ConversationUpdatedEvent => ({
  conversationId: c.conversationId,
  kind: c.kind,
  participantIds: c.participantIds,
  ...(c.title ? { title: c.title } : {}),
  ...(c.adminId ? { adminId: c.adminId } : {}),
  names,
});

export class MembershipService {
  constructor(
    private readonly deps: {
      conversations: ConversationService;
      messages: MessageService;
      fanOut: FanOut;
      names: NameService;
    },
  ) {}

  async add(userId: string, req: ValidRequest<"conversation:add">, socketId?: string) {
    const { conversations, messages, fanOut } = this.deps;
    const c = await this.asAdmin(userId, req.conversationId, "add members");
    const added = [...new Set(req.userIds.map((u) => u.toLowerCase()))].filter(
      (u) => !c.participantIds.includes(u),
    );
    if (c.participantIds.length + added.length > MAX_GROUP_PARTICIPANTS) {
      throw badRequest(`a group has at most ${MAX_GROUP_PARTICIPANTS} participants`);
    }
    // Adding members who are all in already (a retry) changes and records nothing.
    const updated = added.length ? await conversations.change(c, { add: added }) : c;
    for (const u of added) fanOut.conversationNew([u], await conversations.view(updated, u));
    if (added.length) await messages.system(updated, userId, { action: "added", userIds: added });
    await this.announce(updated, socketId);
    return { conversation: await conversations.view(updated, userId) };
  }

  async remove(userId: string, req: ValidRequest<"conversation:remove">, socketId?: string) {
    const { conversations, messages, fanOut } = this.deps;
    const c = await this.asAdmin(userId, req.conversationId, "remove members");
    const target = req.userId.toLowerCase();
    if (target === userId) throw badRequest("userId: to leave a group use conversation:leave");
    if (!c.participantIds.includes(target)) {
      return { conversation: await conversations.view(c, userId) };
    }
    const updated = await conversations.change(c, { remove: [target] });
    await messages.system(updated, userId, { action: "removed", userIds: [target] });
    await this.announce(updated, socketId);
    const { conversationId } = updated;
    fanOut.notify([target], {
      event: "conversation:removed",
      payload: { conversationId, by: userId },
    });
    return { conversation: await conversations.view(updated, userId) };
  }

  /** Leaves a group; an admin who leaves passes the role to the member with the lowest id. */
  async leave(userId: string, req: ValidRequest<"conversation:leave">) {
    const { conversations, messages, fanOut } = this.deps;
    const c = await conversations.requireParticipant(userId, req.conversationId);
    requireGroup(c);
    const successor = c.adminId === userId ? c.participantIds.find((p) => p !== userId) : undefined;
    const updated = await conversations.change(c, {
      remove: [userId],
      ...(successor ? { adminId: successor } : {}),
    });
    await messages.system(updated, userId, { action: "left", userIds: [userId] });
    await this.announce(updated);
    const { conversationId } = updated;
    fanOut.notify([userId], {
      event: "conversation:removed",
      payload: { conversationId, by: userId },
    });
    return {};
  }

  async rename(userId: string, req: ValidRequest<"conversation:rename">, socketId?: string) {
    const { conversations, messages } = this.deps;
    const c = await this.asAdmin(userId, req.conversationId, "rename the group");
    if (c.title === req.title) return { conversation: await conversations.view(c, userId) };
    const updated = await conversations.change(c, { title: req.title });
    await messages.system(updated, userId, { action: "renamed", userIds: [], title: req.title });
    await this.announce(updated, socketId);
    return { conversation: await conversations.view(updated, userId) };
  }

  private async asAdmin(userId: string, conversationId: string, action: string) {
    const c = await this.deps.conversations.requireParticipant(userId, conversationId);
    requireGroup(c);
    if (c.adminId !== userId) throw forbidden(`only the group's admin can ${action}`);
    return c;
  }

  private async announce(c: ConversationRecord, exceptSocketId?: string) {
    const names = await this.deps.names.namesOf(c.participantIds);
    const notice = { event: "conversation:updated", payload: factsOf(c, names) } as const;
    this.deps.fanOut.notify(c.participantIds, notice, exceptSocketId);
  }
}

function requireGroup(c: ConversationRecord) {
  if (c.kind !== "group") throw badRequest("a direct conversation's participants cannot change");
}
