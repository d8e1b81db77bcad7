import { randomUUID } from "node:crypto";
import { expect } from "chai";
import type { Socket } from "socket.io-client";
import { RequestError } from "../../shared/client/index.js";
import { ChatLoad, connectChatClient } from "../support/chat-load.js";
import { eventually, sleep } from "../support/cluster.js";
import { FaultStack } from "../support/fault-stack.js";
import { isListening } from "../support/ports.js";

/** The WebSocket close code a socket.io-client saw, from its "disconnect" details. */
function closeCodes(socket: Socket): number[] {
  const codes: number[] = [];
  socket.on("disconnect", (_reason, details) => {
    const context: unknown = details && "context" in details ? details.context : undefined;
    if (context && typeof context === "object" && "code" in context) {
      codes.push(Number(context.code));
    }
  });
  return codes;
}

describe("fault: a gateway node gets SIGTERM under load", function () {
  this.timeout(120_000);
  const stack = new FaultStack();
  let load: ChatLoad | undefined;
  const cleanup: (() => void)[] = [];
  after(async () => {
    cleanup.forEach((c) => c());
    load?.close();
    await stack.stop();
  });

  it("answers what it started, closes sockets with 1001 so clients move to the other node, exits 0", async () => {
    await stack.start(2, { SHUTDOWN_TIMEOUT_S: "10" });
    const [leaving] = stack.nodes;
    load = await ChatLoad.start(stack.url, 4);
    // Clients of their own on the leaving node, sending right up to the signal.
    const [direct, peer] = [randomUUID(), randomUUID()];
    const client = await connectChatClient(leaving!.url, direct);
    cleanup.push(() => client.close());
    const codes = closeCodes(client.socket);
    const { conversation } = await client.request("conversation:open", { peerId: peer });

    const running = load.run(60, 50);
    await sleep(700);
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      client
        .request("message:send", {
          conversationId: conversation.conversationId,
          clientMsgId: `last-${i}`,
          content: `in flight ${i}`,
        })
        .then(
          () => "ok",
          (err: unknown) => (err instanceof RequestError ? err.code : String(err)),
        ),
    );
    await sleep(5);
    const signalled = Date.now();
    const exited = leaving!.child.kill("SIGTERM");
    // New connections are refused while the node still serves its open sockets.
    while (await isListening(leaving!.port)) await sleep(5);
    expect(client.socket.connected, "open socket when the listener closed").to.equal(true);
    const outcomes = await Promise.all(inFlight);
    const { code } = await exited;
    console.log(
      `      exited ${code} after ${Date.now() - signalled} ms; in flight: ${outcomes.join(",")}`,
    );
    expect(code).to.equal(0);
    // Each request got an answer: done, or refused before it started (retry elsewhere).
    expect(outcomes.filter((o) => o !== "ok" && o !== "UNAVAILABLE")).to.deep.equal([]);
    expect(codes).to.deep.equal([1001]);

    // The client reconnects through nothing but its own retries: this one was pointed at the
    // leaving node itself, so it stays away; the load's clients come back through the balancer.
    await running;
    await load.settle();
    const counts = await load.verify();
    expect(counts.acked).to.equal(counts.sent);
    await eventually(
      () => load!.participants.every((p) => p.client.status === "connected"),
      10_000,
      "every load client to be connected again",
    );
  });
});
