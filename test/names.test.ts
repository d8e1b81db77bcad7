// Display names (docs/protocol.md "Tokens", `Conversation.names`), on three real nodes: a token's
// `name` claim reaches the other participants with conversations and membership events, a later
// token's name replaces it (on other nodes within NAMES_CACHE_S), an older token's does not, and
// a missing or unusable name leaves the stored one and never refuses the token.
import { expect } from "chai";
import jwt from "jsonwebtoken";
import type { Conversation } from "../shared/protocol.js";
import {
  type Client,
  collect,
  eventually,
  newUserId,
  ok,
  sleep,
  TestCluster,
} from "./support/cluster.js";

const CACHE_S = 2;

describe("display names", function () {
  this.timeout(60_000);
  const cluster = new TestCluster();
  before(() => cluster.start(3, { NAMES_CACHE_S: String(CACHE_S) }));
  after(() => cluster.stop());
  const node = (i: number) => cluster.nodes[i]!;

  /** A token for `userId` with these claims; `issuedAgoS` moves its `iat` into the past. */
  function token(userId: string, claims: Record<string, unknown>, issuedAgoS = 0): string {
    const iat = Math.floor(Date.now() / 1000) - issuedAgoS;
    return jwt.sign({ ...claims, iat }, node(0).config.jwt.secret, {
      algorithm: "HS256",
      subject: userId,
      expiresIn: 3600,
    });
  }

  const connectAs = (i: number, userId: string, claims: Record<string, unknown>, ago = 0) =>
    cluster.connect(node(i), userId, { token: token(userId, claims, ago) });

  /** The names `client` is shown for its conversation with `peerId` (opened on its node). */
  const namesSeenBy = async (client: Client, peerId: string) =>
    (await ok(client, "conversation:open", { peerId })).conversation.names;

  it("a token's name reaches the other participant with conversation:open, conversation:new and conversations:list, on every node", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    const ca = await connectAs(0, alice, { name: "  Alice Example  " });
    const cb = await cluster.connect(node(1), bob);
    const newAtAlice = collect(ca, "conversation:new");
    const newAtBob = collect(cb, "conversation:new");

    const { conversation } = await ok(cb, "conversation:open", { peerId: alice });
    // Trimmed; bob's token has no name, so bob has none.
    expect(conversation.names).to.deep.equal({ [alice]: "Alice Example" });
    await eventually(
      () => newAtAlice.length === 1 && newAtBob.length === 1,
      5000,
      "conversation:new",
    );
    expect(newAtAlice[0]!.names).to.deep.equal({ [alice]: "Alice Example" });
    expect(newAtBob[0]!.names).to.deep.equal({ [alice]: "Alice Example" });

    const cb2 = await cluster.connect(node(2), bob);
    const { conversations } = await ok(cb2, "conversations:list", {});
    const listed = conversations.find((c) => c.conversationId === conversation.conversationId);
    expect(listed?.names).to.deep.equal({ [alice]: "Alice Example" });
    // Alice sees her own name too: names are the participants', whoever asks.
    expect(await namesSeenBy(ca, bob)).to.deep.equal({ [alice]: "Alice Example" });
  });

  it("a later token's name replaces it: at once on the node that took it, within NAMES_CACHE_S on the others", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    await connectAs(0, alice, { name: "Alice" }, 60);
    const cb0 = await cluster.connect(node(0), bob);
    const cb1 = await cluster.connect(node(1), bob);
    expect(await namesSeenBy(cb0, alice)).to.deep.equal({ [alice]: "Alice" });
    expect(await namesSeenBy(cb1, alice)).to.deep.equal({ [alice]: "Alice" }); // node 1 keeps it

    await connectAs(0, alice, { name: "Alice Liddell" });
    expect(await namesSeenBy(cb0, alice)).to.deep.equal({ [alice]: "Alice Liddell" });
    const changedAt = Date.now();
    let seen: Conversation["names"] = {};
    while (seen[alice] !== "Alice Liddell") {
      expect(Date.now() - changedAt, "node 1 shows the new name").to.be.below(
        CACHE_S * 1000 + 1500,
      );
      await sleep(100);
      seen = await namesSeenBy(cb1, alice);
    }
  });

  it("an older token's name, a token without a name, and unusable names leave the stored name; none is refused", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    const cb = await cluster.connect(node(0), bob);
    await connectAs(0, alice, { name: "Current" });
    // Issued before the current one (another device's token, say): its name is not the latest.
    await connectAs(0, alice, { name: "Older" }, 120);
    expect(await namesSeenBy(cb, alice)).to.deep.equal({ [alice]: "Current" });
    const unusable: unknown[] = [
      undefined,
      "",
      "   ",
      "x".repeat(65),
      "😀".repeat(65),
      "line\nbreak",
      "\u202Eevil",
      42,
      { first: "A" },
      ["A"],
      null,
    ];
    for (const name of unusable) {
      const client = await connectAs(0, alice, name === undefined ? {} : { name });
      await ok(client, "conversations:list", {});
      client.disconnect();
    }
    expect(await namesSeenBy(cb, alice)).to.deep.equal({ [alice]: "Current" });

    // The longest name allowed, counted in code points (an emoji is one).
    const carol = newUserId();
    await connectAs(0, carol, { name: "😀".repeat(64) });
    expect(await namesSeenBy(cb, carol)).to.deep.equal({ [carol]: "😀".repeat(64) });
    // Someone whose tokens never had a usable name has none: clients show a short id.
    const dave = newUserId();
    await connectAs(0, dave, { name: "x".repeat(65) });
    expect(await namesSeenBy(cb, dave)).to.deep.equal({});
  });

  it("auth:refresh with a token carrying a new name replaces it", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    const ca = await connectAs(1, alice, { name: "Before" }, 60);
    const cb = await cluster.connect(node(1), bob);
    expect(await namesSeenBy(cb, alice)).to.deep.equal({ [alice]: "Before" });
    await ok(ca, "auth:refresh", { token: token(alice, { name: "After" }) });
    expect(await namesSeenBy(cb, alice)).to.deep.equal({ [alice]: "After" });
  });

  it("groups carry their members' names: conversation:create, conversation:new, and conversation:updated as members are added", async () => {
    const [alice, bob, carol, dave] = [newUserId(), newUserId(), newUserId(), newUserId()];
    const ca = await connectAs(0, alice, { name: "Alice" });
    const cb = await cluster.connect(node(1), bob);
    const cc = await connectAs(2, carol, { name: "Carol" });
    const cd = await connectAs(1, dave, { name: "Dave" });
    const newAtCarol = collect(cc, "conversation:new");
    const newAtDave = collect(cd, "conversation:new");
    const updatedAtBob = collect(cb, "conversation:updated");

    const { conversation } = await ok(ca, "conversation:create", {
      participantIds: [bob, carol],
      title: "team",
    });
    const three = { [alice]: "Alice", [carol]: "Carol" };
    expect(conversation.names).to.deep.equal(three);
    await eventually(() => newAtCarol.length === 1, 5000, "conversation:new at carol");
    expect(newAtCarol[0]!.names).to.deep.equal(three);

    const { conversationId } = conversation;
    const added = await ok(ca, "conversation:add", { conversationId, userIds: [dave] });
    const four = { ...three, [dave]: "Dave" };
    expect(added.conversation.names).to.deep.equal(four);
    await eventually(() => newAtDave.length === 1, 5000, "conversation:new at dave");
    expect(newAtDave[0]!.names).to.deep.equal(four);
    await eventually(() => updatedAtBob.length === 1, 5000, "conversation:updated at bob");
    expect(updatedAtBob[0]!.names).to.deep.equal(four);

    const { conversations } = await ok(cb, "conversations:list", {});
    expect(conversations.find((c) => c.conversationId === conversationId)?.names).to.deep.equal(
      four,
    );
  });
});
