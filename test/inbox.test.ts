// conversations:list over a flooded inbox: many conversations created in one slot, some active
// since. Every page is in activity order, a walk lists each conversation exactly once, and a page
// reads a bounded number of rows and records however many the slot holds.
import { expect } from "chai";
import { allBudgets } from "../gateway/config.js";
import type { GatewayNode } from "../gateway/node.js";
import { type Client, newUserId, ok, sleep, TestCluster } from "./support/cluster.js";

type Expected = Map<string, number>; // conversation id -> last activity (ms)

/** The order conversations:list must give: newest activity first, then by id. */
function inboxOrder(expected: Expected): string[] {
  return [...expected.entries()]
    .sort(([a, ta], [b, tb]) => tb - ta || (a < b ? -1 : a > b ? 1 : 0))
    .map(([id]) => id);
}

async function walk(client: Client, limit: number) {
  const seen: { id: string; at: number }[] = [];
  const sizes: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await ok(client, "conversations:list", { limit, ...(cursor ? { cursor } : {}) });
    sizes.push(page.conversations.length);
    for (const c of page.conversations) {
      seen.push({ id: c.conversationId, at: Date.parse(c.lastUpdated) });
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { ids: seen.map((s) => s.id), seen, sizes };
}

/** Counts the Cassandra requests the node makes while `work` runs. */
async function countQueries(node: GatewayNode, work: () => Promise<unknown>): Promise<number> {
  const db = node.db;
  const execute = db.execute.bind(db);
  let count = 0;
  db.execute = (...args: Parameters<typeof execute>) => {
    count++;
    return execute(...args);
  };
  try {
    await work();
  } finally {
    db.execute = execute;
  }
  return count;
}

describe("conversations:list over a flooded inbox", function () {
  this.timeout(120_000);
  const cluster = new TestCluster();
  after(() => cluster.stop());

  async function flood(attacker: Client, victim: string, count: number, expected: Expected) {
    for (let i = 0; i < count; i += 50) {
      const created = await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, () =>
          ok(attacker, "conversation:create", { participantIds: [victim] }),
        ),
      );
      for (const { conversation } of created) {
        expected.set(conversation.conversationId, Date.parse(conversation.lastUpdated));
      }
    }
  }

  async function sendInto(sender: Client, ids: string[], expected: Expected) {
    const sent = await Promise.all(
      ids.map((conversationId, i) =>
        ok(sender, "message:send", { conversationId, clientMsgId: `x${i}`, content: "hi" }),
      ),
    );
    for (const { message } of sent) {
      expected.set(message.conversationId, Date.parse(message.sentAt));
    }
  }

  it("walks every conversation of a flooded slot exactly once, in activity order, some active", async () => {
    const [node] = await cluster.start(1, {
      ...allBudgets("100000/1"),
      MAX_REQUESTS_IN_FLIGHT: "1000",
    });
    const [victim, attacker] = [newUserId(), newUserId()];
    const attackerSocket = await cluster.connect(node!, attacker);
    const victimSocket = await cluster.connect(node!, victim);
    const expected: Expected = new Map();
    await flood(attackerSocket, victim, 300, expected);
    const firstPage = () => ok(victimSocket, "conversations:list", { limit: 1 });
    // A first page reads a bounded number of rows and records, not the 300 the slot holds.
    expect(await countQueries(node!, firstPage)).to.be.below(20);

    // Every seventh gets a message: it moves to the top, in the same slot. A slot's active
    // conversations are read whole (their order is known only from their records).
    const active = [...expected.keys()].filter((_, i) => i % 7 === 3);
    await sendInto(attackerSocket, active, expected);
    expect(await countQueries(node!, firstPage)).to.be.below(2 * active.length + 20);

    for (const limit of [1, 7, 100]) {
      const { ids: listed, seen, sizes } = await walk(victimSocket, limit);
      expect(listed, `limit ${limit}`).to.deep.equal(inboxOrder(expected));
      for (const s of seen) expect(s.at).to.equal(expected.get(s.id));
      expect(Math.max(...sizes)).to.be.at.most(limit);
    }
  });

  it("walks stale rows with bounded pages: conversations created in one slot, active in the next", async () => {
    const slotMs = 1500;
    const [node] = await cluster.start(1, {
      ...allBudgets("100000/1"),
      MAX_REQUESTS_IN_FLIGHT: "1000",
      INBOX_SLOT_MS: String(slotMs),
    });
    const [victim, attacker] = [newUserId(), newUserId()];
    const attackerSocket = await cluster.connect(node!, attacker);
    const victimSocket = await cluster.connect(node!, victim);
    const expected: Expected = new Map();
    await flood(attackerSocket, victim, 400, expected);
    await sleep(slotMs);
    // The newest 350 move to newer slots, leaving their created rows behind to be found stale,
    // ahead of the 50 that stay: more than a page examines.
    const ids = [...expected.keys()];
    await sendInto(
      attackerSocket,
      ids.filter((_, i) => i >= 50),
      expected,
    );

    const first = await walk(victimSocket, 5);
    expect(first.ids).to.deep.equal(inboxOrder(expected));
    expect(Math.max(...first.sizes)).to.be.at.most(5);
    expect(
      first.sizes.slice(0, -1).some((n) => n < 5),
      "a page ended early",
    ).to.equal(true);
    // The walk removed the stale rows it found: a later walk gives the same, in full pages.
    for (let attempt = 0; ; attempt++) {
      const again = await walk(victimSocket, 5);
      expect(again.ids).to.deep.equal(inboxOrder(expected));
      if (again.sizes.slice(0, -1).every((n) => n === 5)) break;
      expect(attempt, "pages still short").to.be.below(5);
      await sleep(200);
    }
  });
});
