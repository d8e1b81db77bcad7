// Bounds what a node holds for one socket: a client that stops reading is cut off once its
// backlog passes the limit, instead of growing the node's memory without bound.
import { webSocketOf } from "./close.js";
import type { GatewaySocket } from "./types.js";

function byteLength(data: unknown): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/**
 * Counts the bytes queued for `socket`: engine.io's write buffer (packets waiting while the
 * transport is busy) plus what the WebSocket has taken but not yet handed to the kernel. Calls
 * `onQueued` with every new total and `onOverflow` once, when a total passes `limitBytes`.
 */
export function limitSendBuffer(
  socket: GatewaySocket,
  limitBytes: number,
  onQueued: (bytes: number) => void,
  onOverflow: (bytes: number) => void,
) {
  let waiting = 0;
  let overflowed = false;
  socket.conn.on("packetCreate", (packet: { data?: unknown }) => {
    waiting += byteLength(packet.data);
    const queued = waiting + (webSocketOf(socket)?.bufferedAmount ?? 0);
    onQueued(queued);
    if (queued > limitBytes && !overflowed) {
      overflowed = true;
      // At once, not on a later tick: meanwhile more broadcasts would pile up. engine.io ignores
      // what is written to a closed socket, this packet included.
      onOverflow(queued);
    }
  });
  // A flush hands the whole write buffer to the transport, where bufferedAmount counts it.
  socket.conn.on("flush", () => {
    waiting = 0;
  });
}
