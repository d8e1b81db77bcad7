// Alice on the client library at one node, bob on a plain socket at another sending her direct
// messages: what the Redis fan-out fault tests watch while a node loses Redis.
import { io as connect } from "socket.io-client";
import { ChatClient } from "../../shared/client/index.js";
import type { Message } from "../../shared/protocol.js";
import { eventually, newUserId, ok, type Client } from "./cluster.js";
import { tokenFor } from "./gateway-process.js";

export type DirectPair = {
  /** Alice's status changes, the messages she was passed, her sync:required and catch-ups. */
  statuses: string[];
  mine: Message[];
  counts: { told: number; synced: number };
  /** Ids of what bob sent, acknowledged. */
  sent: string[];
  send: (content: string) => Promise<void>;
  close: () => void;
};

/** Connects both (alice's first catch-up done) and checks that one message reaches her live. */
export async function directPair(aliceUrl: string, bobUrl: string): Promise<DirectPair> {
  const [aliceId, bobId] = [newUserId(), newUserId()];
  const alice = new ChatClient({ url: aliceUrl, token: tokenFor(aliceId), retryDelayMs: 50 });
  const statuses: string[] = [];
  alice.on("status", ({ status }) => statuses.push(status));
  const mine: Message[] = [];
  alice.on("message", (m) => mine.push(m));
  const counts = { told: 0, synced: 0 };
  alice.socket.on("sync:required", () => counts.told++);
  alice.on("synced", () => counts.synced++);
  await alice.connect();
  await eventually(() => counts.synced === 1, 5000, "the first catch-up");

  const bob: Client = connect(bobUrl, {
    auth: { token: tokenFor(bobId) },
    transports: ["websocket"],
    forceNew: true,
  });
  await new Promise<void>((resolve) => bob.once("connect", () => resolve()));
  const sent: string[] = [];
  const send = async (content: string) => {
    const { message } = await ok(bob, "message:send", {
      recipientId: aliceId,
      clientMsgId: `m${sent.length}`,
      content,
    });
    sent.push(message.messageId);
  };
  const close = () => {
    alice.close();
    bob.disconnect();
  };
  await send("live");
  await eventually(() => mine.length === 1, 5000, "the live message");
  return { statuses, mine, counts, sent, send, close };
}
