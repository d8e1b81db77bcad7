import { expect } from "chai";
import { allBudgets } from "../gateway/config.js";
import { compareMessageIds, messageIdTime } from "../shared/message-id.js";
import type { Message } from "../shared/protocol.js";
import { type Client, newUserId, ok, TestCluster } from "./support/cluster.js";
import { openTestDb } from "./support/db.js";

const TOTAL = 2100;
const BUCKET_MS = 250;

describe("history paging across time buckets", function () {
  this.timeout(120_000);
  const cluster = new TestCluster();
  let client: Client;
  let conversationId: string;
  let sent: Message[] = [];

  before(async () => {
    const [node] = await cluster.start(1, {
      MESSAGE_BUCKET_MS: String(BUCKET_MS),
      // One user loads the whole history as fast as it can.
      ...allBudgets(`${TOTAL}/60`),
      MAX_REQUESTS_IN_FLIGHT: String(TOTAL),
    });
    const alice = newUserId();
    client = await cluster.connect(node!, alice);
    const open = await ok(client, "conversation:open", { peerId: newUserId() });
    conversationId = open.conversation.conversationId;
    for (let batch = 0; batch < TOTAL / 100; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          ok(client, "message:send", {
            conversationId,
            clientMsgId: `p${batch}-${i}`,
            content: `message ${batch * 100 + i}`,
          }),
        ),
      );
      sent.push(...answers.map((a) => a.message));
    }
    sent = sent.sort((x, y) => compareMessageIds(y.messageId, x.messageId));
  });
  after(() => cluster.stop());

  const walk = async (first: { before?: string }) => {
    const seen: Message[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await ok(client, "history:fetch", {
        conversationId,
        limit: 100,
        ...(cursor ? { cursor } : first),
      });
      seen.push(...page.messages);
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    return { seen, pages };
  };

  it("spreads the conversation over several buckets", async () => {
    const db = await openTestDb();
    try {
      const rs = await db.execute(
        "SELECT bucket FROM message_buckets_by_conversation WHERE conversation_id = ?",
        [conversationId],
      );
      expect(rs.rowLength).to.be.greaterThanOrEqual(3);
    } finally {
      await db.client.shutdown();
    }
  });

  it("walks every message exactly once, newest first", async () => {
    const { seen, pages } = await walk({});
    expect(seen.map((m) => m.messageId)).to.deep.equal(sent.map((m) => m.messageId));
    expect(pages).to.equal(Math.ceil(TOTAL / 100));
  });

  it("`before` a time returns only older messages, all of them", async () => {
    const pivot = sent[Math.floor(TOTAL / 2)]!;
    const before = new Date(messageIdTime(pivot.messageId)).toISOString();
    const { seen } = await walk({ before });
    const expected = sent.filter((m) => messageIdTime(m.messageId) < Date.parse(before));
    expect(expected.length).to.be.greaterThan(TOTAL / 3);
    expect(seen.map((m) => m.messageId)).to.deep.equal(expected.map((m) => m.messageId));
  });

  it("`before` a message id returns exactly the older ones", async () => {
    const pivot = sent[700]!;
    const { seen } = await walk({ before: pivot.messageId });
    expect(seen.map((m) => m.messageId)).to.deep.equal(sent.slice(701).map((m) => m.messageId));
  });

  it("history:since returns exactly the newer ones, oldest first", async () => {
    const oldestFirst = [...sent].reverse();
    const start = oldestFirst[1500]!;
    const seen: Message[] = [];
    let after = start.messageId;
    let hasMore = true;
    while (hasMore) {
      const page = await ok(client, "history:since", { conversationId, after, limit: 100 });
      seen.push(...page.messages);
      hasMore = page.hasMore;
      after = page.messages.at(-1)?.messageId ?? after;
    }
    expect(seen.map((m) => m.messageId)).to.deep.equal(
      oldestFirst.slice(1501).map((m) => m.messageId),
    );
  });

  it("the last page has a null cursor, and an empty conversation one empty page", async () => {
    const last = await ok(client, "history:fetch", {
      conversationId,
      before: sent[TOTAL - 3]!.messageId,
    });
    expect(last.messages).to.have.length(2);
    expect(last.nextCursor).to.equal(null);
    const empty = await ok(client, "conversation:open", { peerId: newUserId() });
    const page = await ok(client, "history:fetch", {
      conversationId: empty.conversation.conversationId,
    });
    expect(page).to.deep.equal({ ok: true, messages: [], nextCursor: null });
  });
});
