// The bare fan-out server's events: a send carries its participants, since nothing is stored.
import type { SendAnswer, ServerToClientEvents } from "../shared/protocol.js";

export type BareSendRequest = {
  conversationId: string;
  participantIds: string[];
  clientMsgId: string;
  content: string;
};

export interface BareClientToServerEvents {
  "message:send": (req: BareSendRequest, ack: (a: SendAnswer) => void) => void;
}

export type BareServerToClientEvents = Pick<ServerToClientEvents, "message:new">;
