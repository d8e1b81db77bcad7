// Nobody reads what is not theirs: a stranger who knows (leaked) or computes (guessed) the ids of
// other users' conversations, messages and cursors gets nothing from any request, changes nothing,
// and reaches nobody. The stranger has a socket on each node, so both a node that has the
// conversation's participants cached and one that must read them are tried.
import { expect } from "chai";
import { v1 as timeUuid } from "uuid";
import { directConversationId } from "../gateway/services/ids.js";
import type { ErrorCode, Message, RequestEvent } from "../shared/protocol.js";
import { expectFailure, raw } from "./support/answers.js";
import {
  type Client,
  collect,
  eventually,
  newUserId,
  ok,
  sleep,
  TestCluster,
  QUIET_MS,
} from "./support/cluster.js";

// One answer for outsiders, whether the conversation exists or not.
const REFUSED: ErrorCode[] = ["NOT_FOUND"];

describe("authorization: every request checks participation", function () {
  this.timeout(30_000);
  const cluster = new TestCluster();
  const [alice, bob, carol, mallory] = [newUserId(), newUserId(), newUserId(), newUserId()];
  let a: Client;
  let b: Client;
  let c: Client;
  let strangers: Client[];
  let direct: string;
  let group: string;
  let sent: Message[];
  let events: { name: string; seen: unknown[] }[];
  /** What the victims' histories and inboxes hold before the stranger starts. */
  let untouched: Awaited<ReturnType<typeof snapshot>>;

  const snapshot = async () => ({
    direct: (await ok(a, "history:fetch", { conversationId: direct })).messages,
    group: (await ok(c, "history:fetch", { conversationId: group })).messages,
    inboxes: await Promise.all(
      [a, b, c].map(async (s) => (await ok(s, "conversations:list", {})).conversations),
    ),
  });

  before(async () => {
    await cluster.start(2);
    [a, b, c] = await Promise.all([
      cluster.connect(cluster.nodes[0]!, alice),
      cluster.connect(cluster.nodes[1]!, bob),
      cluster.connect(cluster.nodes[0]!, carol),
    ]);
    strangers = await Promise.all(cluster.nodes.map((n) => cluster.connect(n, mallory)));
    events = [a, b, c].flatMap((s, i) =>
      (
        [
          "message:new",
          "receipt",
          "typing",
          "conversation:new",
          "message:edited",
          "message:deleted",
          "reaction",
          "conversation:updated",
          "conversation:removed",
          "presence",
        ] as const
      ).map((name) => ({
        name: `${name} at ${"abc"[i]}`,
        seen: collect(s, name) as unknown[],
      })),
    );
    const d = await ok(a, "message:send", { recipientId: bob, clientMsgId: "d1", content: "dm" });
    direct = d.message.conversationId;
    const d2 = await ok(b, "message:send", {
      conversationId: direct,
      clientMsgId: "d2",
      content: "re",
    });
    group = (await ok(a, "conversation:create", { participantIds: [bob, carol] })).conversation
      .conversationId;
    const g = await ok(b, "message:send", {
      conversationId: group,
      clientMsgId: "g1",
      content: "g",
    });
    sent = [d.message, d2.message, g.message];
    await ok(c, "message:read", { conversationId: group, messageId: g.message.messageId });
    // Everything the setup delivers has arrived; from here on the victims expect nothing.
    const count = (name: string) => events.find((e) => e.name === name)!.seen.length;
    await eventually(
      () =>
        count("receipt at a") === 1 &&
        count("receipt at b") === 1 &&
        count("message:new at a") === 2 &&
        count("message:new at b") === 1 &&
        count("message:new at c") === 1,
      5000,
      "the setup's deliveries",
    );
    for (const e of events) e.seen.splice(0);
    untouched = await snapshot();
  });
  after(() => cluster.stop());

  /** Every socket of the stranger sends it; each answer is one of `codes`. */
  async function refusedEverywhere(event: RequestEvent, payload: unknown, codes = REFUSED) {
    for (const s of strangers) {
      expectFailure(await raw(s, event, payload), codes, `${event} ${JSON.stringify(payload)}`);
    }
  }

  it("the direct conversation's id can be computed from the pair (a guess that hits)", () => {
    expect(directConversationId(bob, alice)).to.equal(direct);
  });

  it("history:fetch and history:since with leaked ids, cursors and bounds are NOT_FOUND", async () => {
    const page = await ok(a, "history:fetch", { conversationId: direct, limit: 1 });
    for (const [conversationId, message] of [
      [direct, sent[0]!],
      [group, sent[2]!],
    ] as const) {
      await refusedEverywhere("history:fetch", { conversationId });
      await refusedEverywhere("history:fetch", { conversationId, before: message.messageId });
      await refusedEverywhere("history:since", { conversationId, after: message.messageId });
    }
    // A leaked cursor: null here would mean the stranger got the last page instead of a refusal.
    expect(page.nextCursor).to.be.a("string");
    await refusedEverywhere("history:fetch", { conversationId: direct, cursor: page.nextCursor });
  });

  it("message:send, message:read and typing into leaked or guessed conversations are NOT_FOUND", async () => {
    for (const conversationId of [direct, group]) {
      await refusedEverywhere("message:send", {
        conversationId,
        clientMsgId: `m-${conversationId}`,
        content: "let me in",
      });
      for (const m of sent) {
        await refusedEverywhere("message:read", { conversationId, messageId: m.messageId });
      }
      await refusedEverywhere("typing", { conversationId, typing: true });
      await refusedEverywhere("presence:subscribe", { conversationIds: [conversationId] });
    }
  });

  it("edits, deletions, reactions, replies and change feeds on leaked ids are NOT_FOUND", async () => {
    for (const m of sent) {
      const ref = { conversationId: m.conversationId, messageId: m.messageId };
      await refusedEverywhere("message:edit", { ...ref, content: "defaced" });
      await refusedEverywhere("message:delete", ref);
      await refusedEverywhere("reaction:add", { ...ref, emoji: "💩" });
      await refusedEverywhere("reaction:remove", { ...ref, emoji: "💩" });
      await refusedEverywhere("changes:since", {
        conversationId: m.conversationId,
        after: m.messageId,
      });
      await refusedEverywhere("message:send", {
        conversationId: m.conversationId,
        clientMsgId: `r-${m.messageId}`,
        content: "re",
        replyTo: m.messageId,
      });
    }
  });

  it("membership changes of leaked or guessed conversations are NOT_FOUND", async () => {
    for (const conversationId of [direct, group, newUserId()]) {
      await refusedEverywhere("conversation:add", { conversationId, userIds: [mallory] });
      await refusedEverywhere("conversation:remove", { conversationId, userId: bob });
      await refusedEverywhere("conversation:rename", { conversationId, title: "pwned" });
      await refusedEverywhere("conversation:leave", { conversationId });
    }
  });

  it("made-up ids are NOT_FOUND, never anything else", async () => {
    const made = [newUserId(), directConversationId(alice, newUserId())];
    for (const conversationId of made) {
      await refusedEverywhere("history:fetch", { conversationId });
      await refusedEverywhere("history:since", { conversationId, after: timeUuid() });
      await refusedEverywhere("message:read", { conversationId, messageId: timeUuid() });
      await refusedEverywhere("typing", { conversationId, typing: false });
      await refusedEverywhere("message:send", { conversationId, clientMsgId: "x", content: "x" });
      const ref = { conversationId, messageId: timeUuid() };
      await refusedEverywhere("message:edit", { ...ref, content: "x" });
      await refusedEverywhere("message:delete", ref);
      await refusedEverywhere("reaction:add", { ...ref, emoji: "👍" });
      await refusedEverywhere("changes:since", { conversationId, after: timeUuid() });
      await refusedEverywhere("presence:subscribe", { conversationIds: [conversationId] });
    }
  });

  it("an outsider gets the same answer, word for word, whether two users have talked or not", async () => {
    const neverTalked = directConversationId(alice, carol);
    const answers = async (conversationId: string) =>
      Promise.all(
        (
          [
            ["history:fetch", { conversationId }],
            ["history:since", { conversationId, after: sent[0]!.messageId }],
            ["message:read", { conversationId, messageId: sent[0]!.messageId }],
            ["typing", { conversationId, typing: true }],
            ["message:send", { conversationId, clientMsgId: "probe", content: "probe" }],
            ["message:edit", { conversationId, messageId: sent[0]!.messageId, content: "x" }],
            ["message:delete", { conversationId, messageId: sent[0]!.messageId }],
            ["reaction:add", { conversationId, messageId: sent[0]!.messageId, emoji: "👍" }],
            ["changes:since", { conversationId, after: sent[0]!.messageId }],
            ["presence:subscribe", { conversationIds: [conversationId] }],
          ] as const
        ).map(([event, payload]) => raw(strangers[0]!, event, payload)),
      );
    expect(await answers(direct)).to.deep.equal(await answers(neverTalked));
  });

  it("conversations:list never lists others' conversations, even with their cursor", async () => {
    const alicePage = await ok(a, "conversations:list", { limit: 1 });
    expect(alicePage.nextCursor).to.be.a("string");
    for (const s of strangers) {
      expect((await ok(s, "conversations:list", {})).conversations).to.deep.equal([]);
      const withLeaked = await raw(s, "conversations:list", { cursor: alicePage.nextCursor });
      const shown = JSON.stringify(withLeaked);
      expect(shown).to.not.include(direct).and.not.include(group);
    }
  });

  it("auth:refresh with a victim's token is UNAUTHORIZED and leaves the stranger acting as themself", async () => {
    const [s0] = strangers as [Client];
    for (const victim of [alice, bob]) {
      const token = cluster.token(victim);
      for (const s of strangers) {
        expectFailure(await raw(s, "auth:refresh", { token }), "UNAUTHORIZED", `as ${victim}`);
      }
    }
    // Still Mallory, without creating anything: nothing of the victims' is listed, and opening a
    // conversation with Mallory is opening one with oneself, which is refused.
    expect((await ok(s0, "conversations:list", {})).conversations).to.deep.equal([]);
    expectFailure(await raw(s0, "conversation:open", { peerId: mallory }), "BAD_REQUEST", "self");
  });

  it("none of it stored anything or reached anyone", async () => {
    await sleep(QUIET_MS);
    expect(events.filter((e) => e.seen.length > 0)).to.deep.equal([]);
    expect(await snapshot()).to.deep.equal(untouched);
  });

  it("what a stranger may do (open, send to, make a group with them) exposes nothing of theirs", async () => {
    const [s0, s1] = strangers as [Client, Client];
    const opened = await ok(s0, "conversation:open", { peerId: alice });
    expect(opened.conversation.conversationId).to.not.equal(direct);
    expect(opened.conversation.lastMessage).to.equal(null);
    const made = await ok(s1, "conversation:create", { participantIds: [alice, bob, carol] });
    expect(made.conversation.conversationId).to.not.equal(group);
    expect(made.conversation.lastMessage).to.equal(null);
    const hello = await ok(s0, "message:send", {
      recipientId: bob,
      clientMsgId: "hello",
      content: "hello bob",
    });
    expect(hello.message.conversationId).to.not.equal(direct);
    const mine = (await ok(s1, "conversations:list", {})).conversations.map(
      (x) => x.conversationId,
    );
    expect(mine).to.have.members([
      opened.conversation.conversationId,
      made.conversation.conversationId,
      hello.message.conversationId,
    ]);
    // Bob's own conversations are untouched; he has the stranger's as new ones.
    await eventually(
      () => events.some((e) => e.name === "message:new at b" && e.seen.length > 0),
      5000,
      "the stranger's message at bob",
    );
    const history = await ok(b, "history:fetch", { conversationId: direct });
    expect(history.messages).to.deep.equal(untouched.direct);
  });
});
