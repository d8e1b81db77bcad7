// The send budget counted per node and synced through the real Redis: what each node admits,
// what it learns at a sync, and how far a user can run over when sending through several nodes.
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createLogger } from "../gateway/logger.js";
import { SyncedBudget } from "../gateway/limits/synced-budget.js";
import { testConfig } from "./support/cluster.js";

const log = createLogger("silent", "test");
const WINDOW_MS = 10_000;

describe("send budget counted per node, synced through Redis", () => {
  const redis = new Redis(testConfig().redis.url, { lazyConnect: true });
  const keyPrefix = `chat-test-${process.pid}:budget`;
  const budgets: SyncedBudget[] = [];
  // Mid-window, so no test crosses a window edge unless it moves the clock itself.
  let clock = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS + WINDOW_MS / 2;
  const node = (points: number, client = redis) => {
    const budget = new SyncedBudget(
      client,
      { keyPrefix, points, windowS: WINDOW_MS / 1000, syncMs: 60_000, now: () => clock },
      log,
    );
    budgets.push(budget);
    return budget;
  };
  const takeAll = (budget: SyncedBudget, user: string, n: number) =>
    Array.from({ length: n }, () => budget.take(user));
  const key = (user: string) => `${keyPrefix}:${user}:${Math.floor(clock / WINDOW_MS)}`;
  const stored = async (user: string) => Number(await redis.get(key(user)));

  before(() => redis.connect());
  after(async () => {
    for (const budget of budgets) budget.stop();
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("one node admits the budget, refuses the rest until the window ends, then admits again", () => {
    const budget = node(3);
    const user = randomUUID();
    expect(takeAll(budget, user, 3)).to.deep.equal([0, 0, 0]);
    expect(budget.take(user)).to.equal(WINDOW_MS / 2);
    clock += WINDOW_MS;
    expect(takeAll(budget, user, 3)).to.deep.equal([0, 0, 0]);
    expect(budget.take(user)).to.be.above(0);
  });

  it("a sync adds what the node took to Redis; the other node then refuses", async () => {
    const [a, b] = [node(3), node(3)];
    const user = randomUUID();
    expect(takeAll(a, user, 3)).to.deep.equal([0, 0, 0]);
    await a.sync();
    expect(await stored(user)).to.equal(3);
    // The counter expires one window after its own.
    expect(await redis.pttl(key(user))).to.be.within(WINDOW_MS, 2 * WINDOW_MS);
    // b has not synced since a took its share: it admits one, learns the total at its sync, and
    // refuses from then on. One sync interval's worth over the budget, as documented.
    expect(b.take(user)).to.equal(0);
    await b.sync();
    expect(await stored(user)).to.equal(4);
    expect(b.take(user)).to.be.above(0);
    expect(a.take(user)).to.be.above(0);
    // A user's count is theirs alone.
    expect(b.take(randomUUID())).to.equal(0);
  });

  it("a burst reaching two nodes within one interval gets at most the budget on each, none after", async () => {
    const [a, b] = [node(5), node(5)];
    const user = randomUUID();
    const admitted = [...takeAll(a, user, 8), ...takeAll(b, user, 8)].filter((w) => w === 0);
    expect(admitted).to.have.length(10);
    await Promise.all([a.sync(), b.sync()]);
    expect(await stored(user)).to.equal(10);
    expect([a.take(user), b.take(user)].every((w) => w > 0)).to.equal(true);
  });

  it("while Redis is unreachable a node counts alone, and keeps the count for the next sync", async () => {
    const down = new Redis({
      port: 1,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    const budget = node(3, down);
    const user = randomUUID();
    expect(takeAll(budget, user, 2)).to.deep.equal([0, 0]);
    await budget.sync();
    expect(takeAll(budget, user, 2)).to.deep.equal([0, WINDOW_MS / 2]);
    down.disconnect();
  });
});
