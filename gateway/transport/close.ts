// Every way the server ends a connection, as one closed set of reasons, each counted in
// chat_server_disconnects_total{reason} and each telling the client what to do next.
import type { Metrics } from "../http/metrics.js";
import type { GatewaySocket } from "./types.js";

/**
 * `close`: the transport is closed with a WebSocket close code (RFC 6455 section 7.4, IANA
 * registry) and no Socket.IO disconnect packet, so the client's own reconnection runs.
 * `end`: `session:expired`, then a Socket.IO disconnect: the client must not reconnect with the
 * same token.
 */
export const DISCONNECT = {
  shutdown: { kind: "close", code: 1001, reason: "server shutting down" },
  slowConsumer: { kind: "close", code: 1008, reason: "send buffer full" },
  tokenExpired: { kind: "end", code: 1000, reason: "token expired" },
} as const;

export type DisconnectReason = keyof typeof DISCONNECT;

type WebSocketLike = { close(code: number, reason: string): void; bufferedAmount: number };

/** The `ws` socket under an engine.io connection, when the connection runs on WebSocket. */
export function webSocketOf(socket: GatewaySocket): WebSocketLike | undefined {
  const transport: unknown = socket.conn.transport;
  if (!transport || typeof transport !== "object" || !("socket" in transport)) return undefined;
  const ws = transport.socket;
  const usable = ws && typeof ws === "object" && "close" in ws && "bufferedAmount" in ws;
  return usable ? (ws as WebSocketLike) : undefined;
}

/**
 * Ends the connection for `reason` and counts it. With `flushMs`, what is queued for the socket
 * (answers, say) is sent first if the transport takes it within that time; without, it is dropped.
 */
export function disconnect(
  socket: GatewaySocket,
  reason: DisconnectReason,
  metrics: Metrics,
  flushMs = 0,
) {
  metrics.serverDisconnectsTotal.inc({ reason });
  const { kind, code, reason: text } = DISCONNECT[reason];
  if (kind === "end") {
    socket.emit("session:expired");
    socket.disconnect(true);
    return;
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    webSocketOf(socket)?.close(code, text);
    socket.conn.close(true);
  };
  const { transport } = socket.conn;
  // A writable transport has taken everything; a busy one takes the rest when it says "ready".
  if (flushMs === 0 || transport.writable) return close();
  transport.once("ready", close);
  setTimeout(close, flushMs).unref();
}
