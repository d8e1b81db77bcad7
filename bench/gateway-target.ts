// Virtual users on real gateway nodes: real tokens, the contract's events.
import type { Socket } from "socket.io-client";
import { signDevToken } from "../gateway/auth/dev-token.js";
import { loadConfig } from "../gateway/config.js";
import type { ClientToServerEvents, ServerToClientEvents } from "../shared/protocol.js";
import { clock } from "./stats.js";
import { ACK_TIMEOUT_MS, openSocket, outcomeOf, type Session, type Target } from "./target.js";

type GatewaySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

async function ask<T extends { ok: boolean }>(
  call: Promise<T>,
  what: string,
): Promise<T & { ok: true }> {
  const answer = await call;
  if (!answer.ok) throw new Error(`${what} failed: ${JSON.stringify(answer)}`);
  return answer as T & { ok: true };
}

// Nodes and generator read the same JWT settings, so the generator's tokens are accepted.
const config = loadConfig({ ...process.env, NODE_ENV: "development" });

export const tokenFor = (userId: string) => signDevToken(config, userId, 6 * 3600);

export function gatewayTarget(): Target {
  return {
    async connect(url, userId, localAddress) {
      const socket = await openSocket<GatewaySocket>(
        url,
        { token: tokenFor(userId) },
        localAddress ? { localAddress } : {},
      );
      const session: Session = {
        onDelivery: (listener) =>
          void socket.on("message:new", (m) => listener(m.clientMsgId, clock())),
        onDisconnect: (listener) => void socket.on("disconnect", listener),
        async openDirect(peerId) {
          const a = await ask(
            socket.timeout(ACK_TIMEOUT_MS).emitWithAck("conversation:open", { peerId }),
            "conversation:open",
          );
          return a.conversation.conversationId;
        },
        async openGroup(peerIds) {
          const a = await ask(
            socket
              .timeout(ACK_TIMEOUT_MS)
              .emitWithAck("conversation:create", { participantIds: peerIds }),
            "conversation:create",
          );
          return a.conversation.conversationId;
        },
        send: (conversation, clientMsgId, content) =>
          outcomeOf(
            socket.timeout(ACK_TIMEOUT_MS).emitWithAck("message:send", {
              conversationId: conversation.conversationId,
              clientMsgId,
              content,
            }),
          ),
        close: () => void socket.close(),
      };
      return session;
    },
  };
}
