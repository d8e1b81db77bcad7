// Presence (docs/protocol.md "presence:subscribe") on three real nodes: who may follow whom, that
// a user is online while any socket on any node is, that one change is one event to the followers
// only, the cap on followed users, and that a stopped node's users go offline unless they
// reconnect elsewhere in time.
import { expect } from "chai";
import { userRoom } from "../gateway/transport/types.js";
import { ChatClient } from "../shared/client/index.js";
import type { PresenceState } from "../shared/protocol.js";
import { expectFailure, raw } from "./support/answers.js";
import {
  collect,
  eventually,
  newUserId,
  ok,
  QUIET_MS,
  sleep,
  TestCluster,
} from "./support/cluster.js";

const GRACE_MS = 300;
const HEARTBEAT_S = 1;
const TTL_S = 2;

describe("presence", function () {
  this.timeout(60_000);
  const cluster = new TestCluster();

  before(() =>
    cluster.start(3, {
      PRESENCE_OFFLINE_GRACE_MS: String(GRACE_MS),
      PRESENCE_HEARTBEAT_S: String(HEARTBEAT_S),
      PRESENCE_TTL_S: String(TTL_S),
      PRESENCE_MAX_USERS: "4",
      RATE_LIMIT_PRESENCE: "1000/60",
    }),
  );
  after(() => cluster.stop());

  const node = (i: number) => cluster.nodes[i % cluster.nodes.length]!;

  /** Alice on node 0, bob on 1, carol on 2 and their group; dave outside it, on node 0. */
  async function group() {
    const [alice, bob, carol, dave] = [newUserId(), newUserId(), newUserId(), newUserId()];
    const [ca, cb, cc, cd] = await Promise.all(
      [alice, bob, carol, dave].map((u, i) => cluster.connect(node(i), u)),
    );
    const { conversation } = await ok(ca!, "conversation:create", {
      participantIds: [bob, carol],
    });
    return {
      alice,
      bob,
      carol,
      dave,
      ca: ca!,
      cb: cb!,
      cc: cc!,
      cd: cd!,
      conversationId: conversation.conversationId,
    };
  }

  const byUser = (states: PresenceState[]) =>
    Object.fromEntries(states.map((s) => [s.userId, s.online]));

  it("answers the participants' presence, the caller left out, and follows their changes", async () => {
    const g = await group();
    const { presence } = await ok(g.cb, "presence:subscribe", {
      conversationIds: [g.conversationId],
    });
    expect(byUser(presence)).to.deep.equal({ [g.alice]: true, [g.carol]: true });
    const seen = collect(g.cb, "presence");

    g.ca.disconnect();
    await eventually(() => seen.length === 1, 5000, "alice offline at bob");
    const [off] = seen;
    expect(off).to.include({ userId: g.alice, online: false });
    expect(Date.parse(off!.lastSeen!)).to.be.within(Date.now() - 5000, Date.now());

    const again = await cluster.connect(node(2), g.alice);
    await eventually(() => seen.length === 2, 5000, "alice online at bob");
    expect(seen[1]).to.deep.equal({ userId: g.alice, online: true });
    const after = await ok(g.cb, "presence:subscribe", { conversationIds: [g.conversationId] });
    expect(byUser(after.presence)).to.deep.equal({ [g.alice]: true, [g.carol]: true });
    again.disconnect();
    await eventually(() => seen.length === 3, 5000, "alice offline again");
    const last = await ok(g.cb, "presence:subscribe", { conversationIds: [g.conversationId] });
    const alice = last.presence.find((s) => s.userId === g.alice)!;
    expect(alice.online).to.equal(false);
    expect(alice.lastSeen).to.equal(seen[2]!.lastSeen);
  });

  it("a user is online while any socket on any node is; a reconnect within the grace is silent", async () => {
    const g = await group();
    await ok(g.cb, "presence:subscribe", { conversationIds: [g.conversationId] });
    const seen = collect(g.cb, "presence");
    const second = await cluster.connect(node(1), g.alice);
    g.ca.disconnect();
    await sleep(GRACE_MS + QUIET_MS);
    // A reload: closed and back on the same node before the grace ends.
    second.disconnect();
    const third = await cluster.connect(node(1), g.alice);
    await sleep(GRACE_MS + QUIET_MS);
    expect(seen).to.deep.equal([]);
    third.disconnect();
    await eventually(() => seen.length === 1, 5000, "alice offline");
    expect(seen[0]).to.include({ userId: g.alice, online: false });
  });

  it("only followers hear a change, once per socket, on every node", async () => {
    const g = await group();
    const bob2 = await cluster.connect(node(2), g.bob);
    await ok(g.cb, "presence:subscribe", { conversationIds: [g.conversationId] });
    await ok(bob2, "presence:subscribe", { conversationIds: [g.conversationId] });
    // Carol is in the group but follows no one; dave shares nothing with alice.
    const [atBob, atBob2, atCarol, atDave] = [g.cb, bob2, g.cc, g.cd].map((c) =>
      collect(c, "presence"),
    ) as [PresenceState[], PresenceState[], PresenceState[], PresenceState[]];
    g.ca.disconnect();
    await eventually(() => atBob.length === 1 && atBob2.length === 1, 5000, "both bob sockets");
    await sleep(QUIET_MS);
    expect([atBob.length, atBob2.length, atCarol.length, atDave.length]).to.deep.equal([
      1, 1, 0, 0,
    ]);
  });

  it("a conversation the caller is not in is NOT_FOUND, and follows nobody", async () => {
    const g = await group();
    const seen = collect(g.cd, "presence");
    for (const conversationIds of [[g.conversationId], [newUserId()]]) {
      expectFailure(
        await raw(g.cd, "presence:subscribe", { conversationIds }),
        "NOT_FOUND",
        "stranger",
      );
    }
    // One conversation of theirs beside one that is not: refused whole.
    const own = await ok(g.cd, "conversation:open", { peerId: g.bob });
    expectFailure(
      await raw(g.cd, "presence:subscribe", {
        conversationIds: [own.conversation.conversationId, g.conversationId],
      }),
      "NOT_FOUND",
      "mixed",
    );
    g.ca.disconnect();
    g.cc.disconnect();
    await sleep(GRACE_MS + QUIET_MS * 2);
    expect(seen).to.deep.equal([]);
  });

  it("malformed requests are BAD_REQUEST", async () => {
    const g = await group();
    for (const payload of [
      {},
      { conversationIds: "x" },
      { conversationIds: ["not-a-uuid"] },
      { conversationIds: Array.from({ length: 51 }, () => newUserId()) },
      { conversationIds: [], extra: 1 },
    ]) {
      expectFailure(await raw(g.cb, "presence:subscribe", payload), "BAD_REQUEST", "malformed");
    }
  });

  it("follows at most PRESENCE_MAX_USERS users; a new subscription replaces the old", async () => {
    const g = await group();
    const more = [newUserId(), newUserId(), newUserId()];
    const others = await Promise.all(more.map((u, i) => cluster.connect(node(i), u)));
    const big = await ok(g.ca, "conversation:create", { participantIds: [g.bob, ...more] });
    const { presence } = await ok(g.cb, "presence:subscribe", {
      conversationIds: [g.conversationId, big.conversation.conversationId],
    });
    // In order: the first conversation's participants, then the second's, 4 in all.
    const first = [g.alice, g.carol].sort();
    const second = big.conversation.participantIds.filter((p) => p !== g.bob && p !== g.alice);
    const followed = [...first, ...second.slice(0, 2)];
    expect(presence.map((s) => s.userId)).to.deep.equal(followed);
    const unfollowed = more.findIndex((u) => !followed.includes(u));
    const seen = collect(g.cb, "presence");
    others[unfollowed]!.disconnect();
    await sleep(GRACE_MS + QUIET_MS * 2);
    expect(seen).to.deep.equal([]);

    await ok(g.cb, "presence:subscribe", { conversationIds: [] });
    g.ca.disconnect();
    others[(unfollowed + 1) % 3]!.disconnect();
    await sleep(GRACE_MS + QUIET_MS * 2);
    expect(seen).to.deep.equal([]);
  });

  it("the client library follows again after a reconnection and emits each state", async () => {
    const g = await group();
    const lib = new ChatClient({
      url: node(1).url,
      token: () => cluster.token(g.bob),
      socket: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 300 },
    });
    try {
      const states: PresenceState[] = [];
      lib.on("presence", (p) => states.push(p));
      await lib.connect();
      const first = await lib.followPresence([g.conversationId]);
      expect(byUser(first)).to.deep.equal({ [g.alice]: true, [g.carol]: true });
      expect(states).to.have.length(2);
      // The server drops the socket; the new one follows again by itself.
      node(1).io.in(userRoom(g.bob)).disconnectSockets(true);
      await eventually(() => states.length === 4, 5000, "states read again after reconnecting");
      g.ca.disconnect();
      await eventually(() => states.length === 5, 5000, "alice offline, live");
      expect(states[4]).to.include({ userId: g.alice, online: false });
    } finally {
      lib.close();
    }
  });

  it("a stopped node's users go offline within the heartbeat, unless they reconnect elsewhere", async () => {
    const [extra] = await cluster.start(1);
    const [alice, bob, carol] = [newUserId(), newUserId(), newUserId()];
    const ca = await cluster.connect(extra!, alice);
    const cc = await cluster.connect(extra!, carol);
    const cb = await cluster.connect(node(0), bob);
    const { conversation } = await ok(ca, "conversation:create", { participantIds: [bob, carol] });
    await ok(cb, "presence:subscribe", { conversationIds: [conversation.conversationId] });
    const seen = collect(cb, "presence");
    // Carol is moved to another node by her client as the node stops; alice is not.
    cc.on("disconnect", () => void cluster.connect(node(1), carol));
    const stopped = Date.now();
    await cluster.stopNode(extra!);
    await eventually(() => seen.length === 1, (HEARTBEAT_S * 2 + 1) * 1000, "alice offline");
    expect(Date.now() - stopped).to.be.below((HEARTBEAT_S * 2 + 2) * 1000);
    expect(seen[0]).to.include({ userId: alice, online: false });
    await sleep(HEARTBEAT_S * 1000 + QUIET_MS);
    expect(seen.map((s) => s.userId)).to.deep.equal([alice]);
    const now = await ok(cb, "presence:subscribe", {
      conversationIds: [conversation.conversationId],
    });
    expect(byUser(now.presence)).to.deep.equal({ [alice]: false, [carol]: true });
  });
});
