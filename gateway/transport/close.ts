// Closing a connection from the server side so that the client learns why and reconnects.
import type { GatewaySocket } from "./types.js";

/** WebSocket close codes (RFC 6455 section 7.4, IANA registry) and the reasons sent with them. */
export const CLOSE = {
  shutdown: { code: 1001, reason: "server shutting down" },
  slowConsumer: { code: 1008, reason: "send buffer full" },
} as const;

export type CloseCause = keyof typeof CLOSE;

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
 * Closes the connection without a Socket.IO disconnect packet, so the client's own reconnection
 * runs (after a server "disconnect" it would not); a WebSocket client sees the code and reason.
 * With `flushMs`, what is queued for the socket (answers, say) is sent first if the transport
 * takes it within that time; without, it is dropped.
 */
export function closeWithReason(socket: GatewaySocket, cause: CloseCause, flushMs = 0) {
  const { code, reason } = CLOSE[cause];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    webSocketOf(socket)?.close(code, reason);
    socket.conn.close(true);
  };
  const { transport } = socket.conn;
  // A writable transport has taken everything; a busy one takes the rest when it says "ready".
  if (flushMs === 0 || transport.writable) return close();
  transport.once("ready", close);
  setTimeout(close, flushMs).unref();
}
