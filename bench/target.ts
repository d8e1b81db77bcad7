// What the load generator needs from a server under test: a session per virtual user that can
// open conversations, send and hear deliveries. The gateway and the bare fan-out server differ
// only in how they do that (gateway-target.ts, bare-target.ts).
import { io, type ManagerOptions, type SocketOptions, type Socket } from "socket.io-client";
import type { ErrorCode, SendAnswer } from "../shared/protocol.js";
import { clock } from "./stats.js";

export type ConversationRef = { conversationId: string; participantIds: string[] };

/** A send's answer, and when it arrived (on the shared clock, stats.ts). */
export type SendOutcome = ({ ok: true } | { ok: false; code: ErrorCode | "ACK_TIMEOUT" }) & {
  at: number;
};

export interface Session {
  /** Each `message:new` this socket gets: its clientMsgId and when it arrived (shared clock). */
  onDelivery(listener: (clientMsgId: string, at: number) => void): void;
  onDisconnect(listener: (reason: string) => void): void;
  openDirect(peerId: string): Promise<string>;
  openGroup(peerIds: string[]): Promise<string>;
  send(conversation: ConversationRef, clientMsgId: string, content: string): Promise<SendOutcome>;
  close(): void;
}

export interface Target {
  /** `localAddress`: the loopback address the socket connects from (default: the kernel's pick). */
  connect(url: string, userId: string, localAddress?: string): Promise<Session>;
  /** Processes that hold the sockets besides this one (generators.ts), for their CPU time. */
  readonly pids?: readonly number[];
  /** Lets go of those processes. */
  stop?(): Promise<void>;
}

/** Why a connection was refused, as a code for the error table. */
export class ConnectFailure extends Error {
  constructor(readonly code: string) {
    super(`connect refused: ${code}`);
  }
}

export const ACK_TIMEOUT_MS = 10_000;

/** Client options, with the one the WebSocket transport passes to `net.connect` untyped. */
export type ClientOptions = Partial<ManagerOptions & SocketOptions> & { localAddress?: string };

/** A websocket-only, non-reconnecting socket, resolved once connected. */
export async function openSocket<S extends Socket>(
  url: string,
  auth: Record<string, string>,
  extra: ClientOptions = {},
): Promise<S> {
  const socket = io(url, {
    auth,
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    timeout: 20_000,
    ...extra,
  }) as S;
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (err: Error & { data?: { code?: string } }) => {
      socket.close();
      reject(new ConnectFailure(err.data?.code ?? err.message));
    });
  });
  return socket;
}

/** A send's answer, with a missing answer counted as ACK_TIMEOUT. */
export async function outcomeOf(answer: Promise<SendAnswer>): Promise<SendOutcome> {
  try {
    const a = await answer;
    return a.ok ? { ok: true, at: clock() } : { ok: false, code: a.error.code, at: clock() };
  } catch {
    return { ok: false, code: "ACK_TIMEOUT", at: clock() };
  }
}
