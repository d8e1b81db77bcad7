// A connected socket does not keep the HTTP request it was made from. socket.handshake (headers,
// address, auth) is copied from it when the socket is made, and nothing reads it after that.
import { ServerResponse, type IncomingMessage } from "node:http";
import type { GatewayServer } from "./types.js";

/**
 * engine.io (6.6) keeps the request in two places for the connection's life: the connection's
 * `request`, and, for a WebSocket upgrade, the response object it made for the upgrade (not a
 * ServerResponse), which a "close" listener on the TCP socket holds. Both let go of it once
 * the socket is connected. An upgrade of a long-polling session keeps its upgrade request.
 */
export function releaseUpgradeRequests(io: GatewayServer) {
  const upgrades = new WeakMap<IncomingMessage, object>();
  io.engine.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
    if (!(res instanceof ServerResponse)) upgrades.set(req, res);
    next();
  });
  io.on("connection", (socket) => {
    const conn: { request: IncomingMessage | null } = socket.conn;
    const upgrade = conn.request && upgrades.get(conn.request);
    if (upgrade) Reflect.set(upgrade, "req", null);
    conn.request = null;
  });
}
