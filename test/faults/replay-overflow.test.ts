// A Redis outage whose broadcasts do not fit the node's replay backlog (FANOUT_REPLAY_BACKLOG,
// made tiny here): the recipients of the dropped broadcasts get sync:required and the client
// library catches up from storage, on a socket that stays open.
import { expect } from "chai";
import { io as connect } from "socket.io-client";
import { ChatClient } from "../../shared/client/index.js";
import type { Message } from "../../shared/protocol.js";
import { eventually, newUserId, ok, type Client } from "../support/cluster.js";
import {
  metricValue,
  startGatewayProcess,
  tokenFor,
  waitForReady,
  type GatewayProcess,
} from "../support/gateway-process.js";
import { ChildGroup } from "../support/processes.js";
import { RedisProcess } from "../support/redis-process.js";

describe("fault: a Redis outage overflows the replay backlog", function () {
  this.timeout(120_000);
  const redis = new RedisProcess();
  const children = new ChildGroup();
  const closers: (() => void)[] = [];
  after(async () => {
    closers.forEach((close) => close());
    await children.killAll();
    await redis.kill();
  });

  it("tells the recipients to catch up; the client does, without reconnecting", async () => {
    await redis.start();
    const env = { REDIS_URL: redis.url, FANOUT_REPLAY_BACKLOG: "3" };
    const nodes: GatewayProcess[] = [];
    for (const id of ["overflow-0", "overflow-1"]) {
      const node = await startGatewayProcess(id, env);
      children.add(node.child);
      nodes.push(node);
    }
    const [aliceNode, bobNode] = nodes as [GatewayProcess, GatewayProcess];
    const [alice, bob] = [newUserId(), newUserId()];

    const c = new ChatClient({ url: aliceNode.url, token: tokenFor(alice), retryDelayMs: 50 });
    closers.push(() => c.close());
    const statuses: string[] = [];
    c.on("status", ({ status }) => statuses.push(status));
    const mine: Message[] = [];
    c.on("message", (m) => mine.push(m));
    let told = 0;
    c.socket.on("sync:required", () => told++);
    let synced = 0;
    c.on("synced", () => synced++);
    await c.connect();
    await eventually(() => synced === 1, 5000, "the first catch-up");

    const sender: Client = connect(bobNode.url, {
      auth: { token: tokenFor(bob) },
      transports: ["websocket"],
      forceNew: true,
    });
    closers.push(() => sender.disconnect());
    await new Promise<void>((resolve) => sender.once("connect", () => resolve()));
    const sent: string[] = [];
    const send = async (content: string) => {
      const { message } = await ok(sender, "message:send", {
        recipientId: alice,
        clientMsgId: `m${sent.length}`,
        content,
      });
      sent.push(message.messageId);
    };
    await send("live");
    await eventually(() => mine.length === 1, 5000, "the live message");

    await redis.kill();
    await Promise.all(nodes.map((n) => waitForReady(n.url, 10_000, 503)));
    // Far more broadcasts than bob's node keeps (3).
    for (let i = 0; i < 12; i++) await send(`while down ${i}`);
    await redis.start();
    await Promise.all(nodes.map((n) => waitForReady(n.url, 30_000)));

    await eventually(() => told > 0, 15_000, "sync:required");
    await eventually(() => mine.length >= sent.length && synced > 1, 15_000, "the catch-up");
    expect(mine.map((m) => m.messageId)).to.have.members(sent);
    expect(mine).to.have.length(sent.length); // each once
    expect(statuses, "the socket stayed open").to.deep.equal(["connecting", "connected"]);
    expect(await metricValue(bobNode.url, "chat_fanout_sync_required_total")).to.be.at.least(1);
  });
});
