// Groups whose members change (docs/protocol.md "conversation:add"), on three real nodes: who may
// change what, the system messages and events each change makes, and that a removed member gets
// nothing sent after the removal was acknowledged, whichever node sends it.
import { expect } from "chai";
import type { Message } from "../shared/protocol.js";
import { fails } from "./support/answers.js";
import {
  type Client,
  collect,
  eventually,
  newUserId,
  ok,
  QUIET_MS,
  sleep,
  TestCluster,
} from "./support/cluster.js";

describe("group membership", function () {
  this.timeout(60_000);
  const cluster = new TestCluster();
  let seq = 0;

  before(() =>
    cluster.start(3, {
      MAX_REQUESTS_IN_FLIGHT: "100",
      RATE_LIMIT_SEND: "1000/10",
      RATE_LIMIT_MEMBER: "1000/60",
    }),
  );
  after(() => cluster.stop());

  /** Alice (admin) on node 0, bob on 1, carol on 2, and their group; dave and eve outside. */
  async function group() {
    const users = Array.from({ length: 5 }, () => newUserId());
    const [alice, bob, carol, dave, eve] = users as [string, string, string, string, string];
    const clients = await Promise.all(
      users.map((u, i) => cluster.connect(cluster.nodes[i % 3]!, u)),
    );
    const [ca, cb, cc, cd, ce] = clients as [Client, Client, Client, Client, Client];
    const news = [cb, cc].map((c) => collect(c, "conversation:new"));
    const { conversation } = await ok(ca, "conversation:create", {
      participantIds: [bob, carol],
      title: "team",
    });
    await eventually(() => news.every((n) => n.length === 1), 5000, "conversation:new");
    const conversationId = conversation.conversationId;
    return { alice, bob, carol, dave, eve, ca, cb, cc, cd, ce, conversationId, conversation };
  }

  const say = async (client: Client, conversationId: string, content = "hi") =>
    (await ok(client, "message:send", { conversationId, clientMsgId: `g-${++seq}`, content }))
      .message;

  /** The system messages of the whole history, newest first. */
  async function systemMessages(client: Client, conversationId: string) {
    const found: Message[] = [];
    let cursor: string | undefined;
    do {
      const page = await ok(client, "history:fetch", { conversationId, limit: 100, cursor });
      found.push(...page.messages.filter((m) => m.system));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return found;
  }

  it("the creator is the admin; adding a member tells them, records it, and they take part at once", async () => {
    const g = await group();
    expect(g.conversation.adminId).to.equal(g.alice);
    const atDave = collect(g.cd, "conversation:new");
    const updates = [g.cb, g.cc].map((c) => collect(c, "conversation:updated"));
    const atCarol = collect(g.cc, "message:new");
    const { conversation } = await ok(g.ca, "conversation:add", {
      conversationId: g.conversationId,
      userIds: [g.dave, g.dave.toUpperCase()],
    });
    expect(conversation.participantIds).to.have.members([g.alice, g.bob, g.carol, g.dave]);
    await eventually(() => atDave.length === 1, 5000, "conversation:new at dave");
    expect(atDave[0]).to.include({ conversationId: g.conversationId, adminId: g.alice });
    expect(atDave[0]!.participantIds).to.deep.equal(conversation.participantIds);
    await eventually(() => updates.every((u) => u.length === 1), 5000, "conversation:updated");
    expect(updates[0]![0]).to.deep.equal({
      conversationId: g.conversationId,
      kind: "group",
      participantIds: conversation.participantIds,
      title: "team",
      adminId: g.alice,
      names: {},
    });
    await eventually(() => atCarol.length === 1, 5000, "the system message");
    expect(atCarol[0]).to.include({ senderId: g.alice, content: `added ${g.dave.slice(0, 8)}` });
    expect(atCarol[0]!.system).to.deep.equal({ action: "added", userIds: [g.dave] });
    expect(await systemMessages(g.cd, g.conversationId)).to.deep.equal([atCarol[0]]);

    const listed = (await ok(g.cd, "conversations:list", {})).conversations;
    expect(listed.map((c) => c.conversationId)).to.include(g.conversationId);
    const fromDave = collect(g.cb, "message:new");
    const m = await say(g.cd, g.conversationId, "hello all");
    await eventually(() => fromDave.length === 1, 5000, "dave's message at bob");
    expect(fromDave[0]).to.deep.equal(m);

    // Adding members again (a retry) records nothing new.
    await ok(g.ca, "conversation:add", { conversationId: g.conversationId, userIds: [g.dave] });
    expect(await systemMessages(g.cb, g.conversationId)).to.have.length(1);
  });

  it("a removed member gets nothing sent after the removal is acknowledged, from any node", async () => {
    const g = await group();
    await ok(g.ca, "conversation:add", { conversationId: g.conversationId, userIds: [g.dave] });
    // Every node holds the group's members in its cache: each has sent into it.
    const senders = [g.ca, g.cb, g.cd];
    for (const s of senders) await say(s, g.conversationId, "warm");
    const atCarol = collect(g.cc, "message:new");
    const removed = collect(g.cc, "conversation:removed");
    const requested = new Map<string, number>();
    let acknowledgedAt = Infinity;
    let stop = false;
    const flows = senders.map(async (s, i) => {
      for (let n = 0; !stop; n++) {
        const clientMsgId = `flow-${i}-${n}-${++seq}`;
        requested.set(clientMsgId, performance.now());
        await ok(s, "message:send", {
          conversationId: g.conversationId,
          clientMsgId,
          content: "x",
        });
      }
    });
    await sleep(300);
    await ok(g.ca, "conversation:remove", { conversationId: g.conversationId, userId: g.carol });
    acknowledgedAt = performance.now();
    await sleep(500);
    stop = true;
    await Promise.all(flows);
    await sleep(QUIET_MS);

    const late = atCarol.filter(
      (m: Message) => (requested.get(m.clientMsgId) ?? 0) > acknowledgedAt,
    );
    expect(late, "messages sent after the removal that reached carol").to.deep.equal([]);
    const sentAfter = [...requested.values()].filter((t) => t > acknowledgedAt).length;
    expect(sentAfter, "messages flowed after the removal").to.be.greaterThan(3);
    expect(removed).to.deep.equal([{ conversationId: g.conversationId, by: g.alice }]);

    // Carol is an outsider now, on every node.
    for (const node of cluster.nodes) {
      const again = await cluster.connect(node, g.carol);
      await fails(again, "history:fetch", { conversationId: g.conversationId }, "NOT_FOUND");
      await fails(
        again,
        "message:send",
        { conversationId: g.conversationId, clientMsgId: `c-${++seq}`, content: "let me in" },
        "NOT_FOUND",
      );
      const mine = (await ok(again, "conversations:list", {})).conversations;
      expect(mine.map((c) => c.conversationId)).to.not.include(g.conversationId);
    }
    const [last] = await systemMessages(g.cb, g.conversationId);
    expect(last?.system).to.deep.equal({ action: "removed", userIds: [g.carol] });
  });

  it("anyone may leave; an admin who leaves passes the role on", async () => {
    const g = await group();
    const bobGone = collect(g.cb, "conversation:removed");
    await ok(g.cb, "conversation:leave", { conversationId: g.conversationId });
    await eventually(() => bobGone.length === 1, 5000, "conversation:removed at bob");
    expect(bobGone[0]).to.deep.equal({ conversationId: g.conversationId, by: g.bob });
    await fails(g.cb, "history:fetch", { conversationId: g.conversationId }, "NOT_FOUND");
    await fails(g.cb, "conversation:leave", { conversationId: g.conversationId }, "NOT_FOUND");

    const updates = collect(g.cc, "conversation:updated");
    await ok(g.ca, "conversation:leave", { conversationId: g.conversationId });
    // Bob's leave may still be announcing itself: look for the update of alice's.
    const afterAlice = () => updates.find((u) => u.participantIds.length === 1);
    await eventually(() => afterAlice() !== undefined, 5000, "conversation:updated at carol");
    expect(afterAlice()).to.include({ adminId: g.carol });
    expect(afterAlice()!.participantIds).to.deep.equal([g.carol]);
    const events = (await systemMessages(g.cc, g.conversationId)).map((m) => m.system);
    expect(events).to.deep.equal([
      { action: "left", userIds: [g.alice] },
      { action: "left", userIds: [g.bob] },
    ]);
    await ok(g.cc, "conversation:rename", { conversationId: g.conversationId, title: "solo" });
  });

  it("the admin renames the group; a new title is recorded, the same one changes nothing", async () => {
    const g = await group();
    const updates = collect(g.cb, "conversation:updated");
    const { conversation } = await ok(g.ca, "conversation:rename", {
      conversationId: g.conversationId,
      title: "  new name ",
    });
    expect(conversation.title).to.equal("new name");
    await eventually(() => updates.length === 1, 5000, "conversation:updated");
    expect(updates[0]!.title).to.equal("new name");
    await ok(g.ca, "conversation:rename", { conversationId: g.conversationId, title: "new name" });
    const events = (await systemMessages(g.cb, g.conversationId)).map((m) => m.system);
    expect(events).to.deep.equal([{ action: "renamed", userIds: [], title: "new name" }]);
    const listed = (await ok(g.cc, "conversations:list", {})).conversations.find(
      (c) => c.conversationId === g.conversationId,
    );
    expect(listed?.title).to.equal("new name");
  });

  it("FORBIDDEN for members who are not the admin, NOT_FOUND for outsiders, BAD_REQUEST otherwise", async () => {
    const g = await group();
    const id = { conversationId: g.conversationId };
    await fails(g.cb, "conversation:add", { ...id, userIds: [g.dave] }, "FORBIDDEN");
    await fails(g.cb, "conversation:remove", { ...id, userId: g.carol }, "FORBIDDEN");
    await fails(g.cb, "conversation:rename", { ...id, title: "mine" }, "FORBIDDEN");
    await fails(g.ce, "conversation:add", { ...id, userIds: [g.eve] }, "NOT_FOUND");
    await fails(g.ce, "conversation:leave", id, "NOT_FOUND");
    await fails(g.ce, "conversation:rename", { ...id, title: "x" }, "NOT_FOUND");
    await fails(g.ca, "conversation:remove", { ...id, userId: g.alice }, "BAD_REQUEST");
    await fails(g.ca, "conversation:add", { ...id, userIds: [] }, "BAD_REQUEST");
    await fails(g.ca, "conversation:add", { ...id, userIds: ["nope"] }, "BAD_REQUEST");
    await fails(g.ca, "conversation:rename", { ...id, title: "  " }, "BAD_REQUEST");
    await fails(g.ca, "conversation:leave", { ...id, extra: true }, "BAD_REQUEST");
    const many = Array.from({ length: 254 }, () => newUserId());
    await fails(g.ca, "conversation:add", { ...id, userIds: many }, "BAD_REQUEST");

    const { conversation } = await ok(g.ca, "conversation:open", { peerId: g.bob });
    const direct = { conversationId: conversation.conversationId };
    await fails(g.ca, "conversation:add", { ...direct, userIds: [g.carol] }, "BAD_REQUEST");
    await fails(g.ca, "conversation:leave", direct, "BAD_REQUEST");

    const [added] = await systemMessages(g.ca, g.conversationId);
    expect(added, "no change was recorded").to.equal(undefined);
    await ok(g.ca, "conversation:add", { ...id, userIds: [g.dave] });
    const [system] = await systemMessages(g.ca, g.conversationId);
    const ref = { ...id, messageId: system!.messageId };
    await fails(g.ca, "message:edit", { ...ref, content: "rewritten" }, "BAD_REQUEST");
    await fails(g.ca, "message:delete", ref, "BAD_REQUEST");
  });
});
