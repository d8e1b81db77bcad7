// Fan-out through Socket.IO rooms: one room per user, joined by each of their sockets; the Redis
// adapter carries every broadcast to the other nodes.
import type {
  Conversation,
  Message,
  ReceiptEvent,
  ServerToClientEvents,
  TypingEvent,
} from "../../shared/protocol.js";
import { unavailable } from "../errors.js";
import type { FanOut, Notice } from "../services/ports.js";
import { userRoom, type GatewayServer } from "../transport/types.js";
import type { Lost, OutageBacklog } from "./outage-backlog.js";

/** Events kept for a replay after a Redis outage: everything but typing and sync:required. */
type ReplayableEvent =
  | "message:new"
  | "receipt"
  | "conversation:new"
  | "message:edited"
  | "message:deleted"
  | "reaction"
  | "conversation:updated"
  | "conversation:removed";

/** Rooms per sync:required broadcast, so one adapter message stays small. */
const SYNC_REQUIRED_CHUNK = 1000;

export class SocketIoFanOut implements FanOut {
  /**
   * @param perRoom one broadcast per user's room rather than one to all of them: the sharded
   * adapter publishes a single-room broadcast on that room's own channel, which only the nodes
   * holding the room hear, and a multi-room one on a channel every node hears
   * (docs/performance.md, "Fan-out cost by node count").
   */
  constructor(
    private readonly io: GatewayServer,
    private readonly backlog: OutageBacklog,
    private readonly onDeliver: (event: string, users: number) => void = () => undefined,
    private readonly perRoom = false,
  ) {}

  private rooms(userIds: string[], volatile = false) {
    const io = volatile ? this.io.volatile : this.io;
    return this.perRoom ? userIds.map((id) => io.to(userRoom(id))) : [io.to(userIds.map(userRoom))];
  }

  /**
   * Emits `event` to the users' rooms (but not to `exceptSocketId`) and keeps it for a replay
   * after a Redis outage.
   */
  private replayable<E extends ReplayableEvent>(
    event: E,
    userIds: string[],
    payload: Parameters<ServerToClientEvents[E]>[0],
    exceptSocketId?: string,
  ) {
    const args = [payload] as Parameters<ServerToClientEvents[E]>;
    this.backlog.send({
      userIds,
      emit: () => {
        for (const rooms of this.rooms(userIds)) {
          (exceptSocketId ? rooms.except(exceptSocketId) : rooms).emit(event, ...args);
        }
      },
    });
    this.onDeliver(event, userIds.length);
  }

  messageNew(userIds: string[], message: Message, exceptSocketId?: string) {
    this.replayable("message:new", userIds, message, exceptSocketId);
  }

  receipt(userIds: string[], receipt: ReceiptEvent) {
    if (userIds.length > 0) this.replayable("receipt", userIds, receipt);
  }

  typing(userIds: string[], event: TypingEvent) {
    if (userIds.length === 0) return;
    for (const rooms of this.rooms(userIds, true)) rooms.emit("typing", event);
    this.onDeliver("typing", userIds.length);
  }

  conversationNew(userIds: string[], conversation: Conversation) {
    this.replayable("conversation:new", userIds, conversation);
  }

  notify(userIds: string[], notice: Notice, exceptSocketId?: string) {
    if (userIds.length > 0) this.replayable(notice.event, userIds, notice.payload, exceptSocketId);
  }

  async conversationChanged(conversationId: string) {
    try {
      // Bounded by the adapter's request timeout (5 s).
      await this.io.serverSideEmitWithAck("conversation:changed", conversationId);
    } catch (err) {
      throw Object.assign(unavailable("not every node confirmed the change in time; retry"), {
        cause: err,
      });
    }
  }

  onConversationChanged(forget: (conversationId: string) => void) {
    this.io.on("conversation:changed", (conversationId, done) => {
      forget(conversationId);
      done(true);
    });
  }

  /** Tells every socket of this node, and no other, to catch up from storage. */
  syncLocal() {
    this.io.local.emit("sync:required", { reason: "replayIncomplete" });
  }

  /** Tells the users (on every node) that live events to them were lost: catch up from storage. */
  syncRequired(users: Lost) {
    const event = { reason: "replayIncomplete" } as const;
    if (users === "everyone") return void this.io.emit("sync:required", event);
    const ids = [...users];
    for (let i = 0; i < ids.length; i += SYNC_REQUIRED_CHUNK) {
      this.io.to(ids.slice(i, i + SYNC_REQUIRED_CHUNK).map(userRoom)).emit("sync:required", event);
    }
  }
}
