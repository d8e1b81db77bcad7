// Catch-up in one request (docs/protocol.md "sync"): from a position, the conversations that
// changed (new messages, edits, reactions, members) and those the user left, on real nodes; and
// the client library asking only about those after a reconnection.
import { expect } from "chai";
import { encodeCursor } from "../gateway/services/cursor.js";
import { ChatClient } from "../shared/client/index.js";
import type { Message } from "../shared/protocol.js";
import { expectFailure, raw } from "./support/answers.js";
import { type Client, eventually, newUserId, ok, TestCluster } from "./support/cluster.js";
import { metricValue } from "./support/gateway-process.js";

describe("sync", function () {
  this.timeout(60_000);
  const cluster = new TestCluster();
  let seq = 0;

  before(() =>
    cluster.start(2, {
      MAX_REQUESTS_IN_FLIGHT: "200",
      RATE_LIMIT_SEND: "1000/10",
      RATE_LIMIT_CREATE: "1000/60",
      RATE_LIMIT_OPEN: "1000/60",
      RATE_LIMIT_HISTORY: "5000/10",
      RATE_LIMIT_LIST: "1000/10",
    }),
  );
  after(() => cluster.stop());

  const say = async (client: Client, conversationId: string, content = "hi") =>
    (await ok(client, "message:send", { conversationId, clientMsgId: `s-${++seq}`, content }))
      .message;

  /** Every page of a sync from `position`. */
  async function syncAll(client: Client, position: string, limit?: number) {
    const entries: Awaited<ReturnType<typeof pageOf>>["conversations"] = [];
    const removed: string[] = [];
    let cursor: string | undefined;
    let page: Awaited<ReturnType<typeof pageOf>>;
    do {
      page = await pageOf(client, cursor ? { cursor, limit } : { position, limit });
      entries.push(...page.conversations);
      removed.push(...page.removed);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return { entries, removed, position: page.position, after: page.after };
  }
  const pageOf = (client: Client, req: { position?: string; cursor?: string; limit?: number }) =>
    ok(client, "sync", Object.fromEntries(Object.entries(req).filter(([, v]) => v !== undefined)));

  it("lists what changed since the position, each with what to fetch, and nothing else", async () => {
    const [me, peer] = [newUserId(), newUserId()];
    const [mine, theirs] = await Promise.all([
      cluster.connect(cluster.nodes[0]!, me),
      cluster.connect(cluster.nodes[1]!, peer),
    ]);
    const group = async () =>
      (await ok(theirs, "conversation:create", { participantIds: [me] })).conversation
        .conversationId;
    const [quiet, talked, edited, left] = [
      await group(),
      await group(),
      await group(),
      await group(),
    ];
    const old: Message = await say(theirs, edited, "old");
    await say(theirs, quiet, "nothing new here");

    // A position comes without anything to compare with. Gateway positions start 30 s back
    // (changes are timed before they are stored); this test makes one for now instead, so that
    // its setup above is not listed.
    const first = await ok(mine, "sync", {});
    expect(first.conversations).to.deep.equal([]);
    expect(first.position).to.be.a("string");
    await new Promise((r) => setTimeout(r, 20));
    const position = encodeCursor({ t: Date.now() });
    // A change counts when it is later than the position; with warm code a send can be stamped
    // within the same millisecond as it, and then it is not.
    await new Promise((r) => setTimeout(r, 5));

    await say(theirs, talked, "new");
    await ok(theirs, "message:edit", {
      conversationId: edited,
      messageId: old.messageId,
      content: "new",
    });
    await ok(theirs, "conversation:remove", { conversationId: left, userId: me });
    const fresh = (await ok(theirs, "conversation:create", { participantIds: [me] })).conversation
      .conversationId;

    const { entries, removed, after } = await syncAll(mine, position);
    const byId = new Map(entries.map((e) => [e.conversation.conversationId, e]));
    expect(removed).to.deep.equal([left]);
    expect(byId.get(talked)).to.include({ messages: true, changes: false });
    expect(byId.get(edited)).to.include({ messages: false, changes: true });
    expect(byId.get(fresh)).to.include({ messages: true });
    expect(byId.get(talked)!.conversation.unreadCount).to.equal(1);
    // `quiet` had its last message before the position: not listed.
    expect([...byId.keys()]).to.have.members([talked, edited, fresh]);
    const changes = await ok(mine, "changes:since", { conversationId: edited, after });
    expect(changes.messages.map((m) => m.content)).to.deep.equal(["new"]);

    // Paged one by one, the same conversations, each once.
    const paged = await syncAll(mine, position, 1);
    expect(paged.entries.map((e) => e.conversation.conversationId)).to.deep.equal(
      entries.map((e) => e.conversation.conversationId),
    );
  });

  it("BAD_REQUEST for a position or cursor it did not issue, or a limit out of range", async () => {
    const c = await cluster.connect(cluster.nodes[0]!, newUserId());
    for (const payload of [{ position: "nope" }, { cursor: "nope" }, { limit: 0 }, { x: 1 }]) {
      expectFailure(await raw(c, "sync", payload), "BAD_REQUEST", JSON.stringify(payload));
    }
  });

  it("the client library asks only about the conversations that changed after a reconnection", async () => {
    const [node] = cluster.nodes;
    const [me, peer] = [newUserId(), newUserId()];
    const theirs = await cluster.connect(cluster.nodes[1]!, peer);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const { conversation } = await ok(theirs, "conversation:create", { participantIds: [me] });
      ids.push(conversation.conversationId);
      await say(theirs, conversation.conversationId);
    }
    const client = new ChatClient({
      url: node!.url,
      token: () => cluster.token(me),
      socket: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 200 },
    });
    const seen: Message[] = [];
    client.on("message", (m) => void seen.push(m));
    let synced = 0;
    client.on("synced", () => synced++);
    try {
      await client.connect();
      await client.request("conversations:list", { limit: 100 });
      await eventually(() => synced === 1, 10_000, "the first catch-up");
      const since = () =>
        metricValue(node!.url, 'chat_requests_total{event="history:since",outcome="ok"}');
      const before = await since();
      client.socket.io.engine.close(); // drop the connection; the client reconnects
      await eventually(() => client.status === "reconnecting", 5000, "reconnecting");
      const late = [
        await say(theirs, ids[3]!, "missed 1"),
        await say(theirs, ids[17]!, "missed 2"),
      ];
      await eventually(() => synced === 2, 15_000, "the catch-up after reconnecting");
      expect(seen.map((m) => m.messageId)).to.include.members(late.map((m) => m.messageId));
      expect((await since()) - before, "history:since requests").to.be.at.most(2);
    } finally {
      client.close();
    }
  });
});
