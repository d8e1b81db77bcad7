// Tells presence when a user's socket connects and disconnects on this node.
import type { PresenceService } from "../services/presence-service.js";
import type { GatewayServer } from "./types.js";

export function trackPresence(
  io: GatewayServer,
  presence: Pick<PresenceService, "connected" | "disconnected">,
) {
  io.on("connection", (socket) => {
    const user = socket.data.userId;
    presence.connected(user);
    socket.on("disconnect", () => presence.disconnected(user));
  });
}
