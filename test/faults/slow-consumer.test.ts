import { randomUUID } from "node:crypto";
import { expect } from "chai";
import type { Message } from "../../shared/protocol.js";
import { connectChatClient } from "../support/chat-load.js";
import { eventually } from "../support/cluster.js";
import { metricValue, startGatewayProcess, tokenFor } from "../support/gateway-process.js";
import { ChildGroup } from "../support/processes.js";
import { rawSocketIo } from "../support/raw-socket.js";

const LIMIT = 256 * 1024;
// 4,000 four-byte code points: the largest message, about 16 kB on the wire.
const CONTENT = "\u{1F600}".repeat(4000);

describe("fault: a client stops reading its socket", function () {
  this.timeout(120_000);
  const children = new ChildGroup();
  const cleanup: (() => void)[] = [];
  after(async () => {
    cleanup.forEach((c) => c());
    await children.killAll();
  });

  it("is disconnected with a reason once its send buffer passes the limit; others on the node keep receiving", async () => {
    const node = await startGatewayProcess("slow-consumer-node", {
      SEND_BUFFER_LIMIT_BYTES: String(LIMIT),
    });
    children.add(node.child);
    const [alice, stalled, steady] = [randomUUID(), randomUUID(), randomUUID()];
    const sender = await connectChatClient(node.url, alice);
    const reader = await connectChatClient(node.url, steady);
    const slow = await rawSocketIo(node.url, tokenFor(stalled));
    cleanup.push(
      () => sender.close(),
      () => reader.close(),
      () => slow.terminate(),
    );
    const { conversation } = await sender.request("conversation:create", {
      participantIds: [stalled, steady],
    });
    const received = new Map<string, number>();
    reader.on("message", (m: Message) => received.set(m.messageId, Date.now()));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      slow.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    // Stop reading: what the node sends piles up in the kernel, then in the node.
    slow.pause();

    const ackedAt = new Map<string, number>();
    const disconnected = () =>
      metricValue(node.url, 'chat_server_disconnects_total{reason="slowConsumer"}');
    for (let round = 0; round < 100 && (await disconnected()) === 0; round++) {
      const sent = await Promise.all(
        Array.from({ length: 16 }, () =>
          sender.send({ conversationId: conversation.conversationId, content: CONTENT }),
        ),
      );
      for (const m of sent) ackedAt.set(m.messageId, Date.now());
    }
    expect(await disconnected(), "slow consumer disconnects").to.equal(1);

    const peak = await metricValue(node.url, "chat_send_buffer_peak_bytes");
    // The check runs as each message is queued, so the peak is at most one message past it.
    expect(peak).to.be.greaterThan(LIMIT);
    expect(peak).to.be.at.most(LIMIT + Buffer.byteLength(CONTENT) + 1024);

    await eventually(
      () => [...ackedAt.keys()].every((id) => received.has(id)),
      20_000,
      "the steady reader to get every message",
    );
    const delays = [...ackedAt].map(([id, at]) => received.get(id)! - at).sort((a, b) => a - b);
    console.log(
      `      ${ackedAt.size} messages of 16 kB; send buffer peak ${peak} B (limit ${LIMIT}); ` +
        `steady reader's receipt minus the sender's ack: median ${delays[delays.length >> 1]} ms, max ${delays.at(-1)} ms`,
    );

    // Reading again, the stalled client finds its backlog and then the close with the reason.
    slow.resume();
    expect(await closed).to.deep.equal({ code: 1008, reason: "send buffer full" });
  });
});
