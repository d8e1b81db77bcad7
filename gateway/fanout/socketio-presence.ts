// Presence through Socket.IO rooms: a socket that follows a user joins `presence:<user>`, so one
// change is one broadcast, heard by the followers only (on every node, through the adapter).
import type { PresenceState } from "../../shared/protocol.js";
import type { PresenceChannel } from "../services/ports.js";
import type { GatewayServer } from "../transport/types.js";

const PREFIX = "presence:";
export const presenceRoom = (userId: string) => `${PREFIX}${userId}`;

export class SocketIoPresence implements PresenceChannel {
  constructor(
    private readonly io: GatewayServer,
    private readonly onAnnounce: (state: PresenceState) => void = () => undefined,
  ) {}

  follow(socketId: string, userIds: string[]) {
    const socket = this.io.of("/").sockets.get(socketId);
    if (!socket) return;
    const wanted = new Set(userIds.map(presenceRoom));
    for (const room of socket.rooms) {
      if (room.startsWith(PREFIX) && !wanted.has(room)) void socket.leave(room);
    }
    if (wanted.size > 0) void socket.join([...wanted]);
  }

  announce(state: PresenceState) {
    this.io.to(presenceRoom(state.userId)).emit("presence", state);
    this.onAnnounce(state);
  }
}
