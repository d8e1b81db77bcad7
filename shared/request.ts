// The one typed wrapper around Socket.IO's emitWithAck for protocol requests: its event map
// types the payload but not a timed acknowledgement's answer, so the cast lives here only.
import type { Socket } from "socket.io-client";
import type {
  ClientToServerEvents,
  RequestAnswer,
  RequestEvent,
  RequestPayload,
  ServerToClientEvents,
} from "./protocol.js";

export type ProtocolSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Sends request `event` and resolves with its answer; rejects when none came within `timeoutMs`
 * (or the connection dropped first).
 */
export function emitRequest<E extends RequestEvent>(
  socket: ProtocolSocket,
  event: E,
  payload: RequestPayload<E>,
  timeoutMs: number,
): Promise<RequestAnswer<E>> {
  const timed = socket.timeout(timeoutMs);
  const emit = timed.emitWithAck as (event: string, payload: unknown) => Promise<unknown>;
  return emit.call(timed, event, payload) as Promise<RequestAnswer<E>>;
}
