// Virtual users on the bare fan-out server: no tokens, conversations exist only in the generator.
import { randomUUID } from "node:crypto";
import type { Socket } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import type { BareClientToServerEvents, BareServerToClientEvents } from "./bare-protocol.js";
import { clock } from "./stats.js";
import { ACK_TIMEOUT_MS, openSocket, outcomeOf, type Target } from "./target.js";

type BareSocket = Socket<BareServerToClientEvents, BareClientToServerEvents>;

export function bareTarget(parser: "default" | "msgpack"): Target {
  return {
    async connect(url, userId, localAddress) {
      const socket = await openSocket<BareSocket>(
        url,
        { userId },
        {
          ...(parser === "msgpack" ? { parser: msgpackParser } : {}),
          ...(localAddress ? { localAddress } : {}),
        },
      );
      return {
        onDelivery: (listener) =>
          void socket.on("message:new", (m) => listener(m.clientMsgId, clock())),
        onDisconnect: (listener) => void socket.on("disconnect", listener),
        openDirect: async () => randomUUID(),
        openGroup: async () => randomUUID(),
        send: (conversation, clientMsgId, content) =>
          outcomeOf(
            socket
              .timeout(ACK_TIMEOUT_MS)
              .emitWithAck("message:send", { ...conversation, clientMsgId, content }),
          ),
        close: () => void socket.close(),
      };
    },
  };
}
