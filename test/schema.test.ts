import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { v1 } from "uuid";
import { createLogger } from "../gateway/logger.js";
import {
  canonicalPair,
  directConversationId,
  windowStart,
  writeMicros,
} from "../gateway/services/ids.js";
import type { Db } from "../gateway/storage/cassandra.js";
import { ConversationRepository } from "../gateway/storage/conversation-repository.js";
import { MessageRepository } from "../gateway/storage/message-repository.js";
import { migrate, MigrationError, splitStatements } from "../gateway/storage/migrate.js";
import type { ConversationRecord, StoredMessage } from "../gateway/storage/records.js";
import { messageIdTime } from "../shared/message-id.js";
import { testConfig } from "./support/cluster.js";
import { openTestDb } from "./support/db.js";

const log = createLogger("silent", "test");
const BUCKET = 60_000;

function message(conversationId: string, messageId: string, senderId: string): StoredMessage {
  return {
    conversationId,
    messageId,
    senderId,
    clientMsgId: `c-${messageId.slice(0, 8)}`,
    content: `hello ${messageId}`,
    sentAt: new Date(messageIdTime(messageId)).toISOString(),
  };
}

describe("schema and storage", () => {
  let db: Db;
  before(async () => {
    db = await openTestDb();
  });
  after(() => db.client.shutdown());

  describe("migrations", () => {
    const keyspace = `test_mig_${Date.now().toString(36)}`;
    const { replication } = testConfig().cassandra;
    after(() => db.client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { prepare: false }));

    it("apply to an empty keyspace, then again with no change", async () => {
      const first = await migrate(db, { keyspace, replication }, log);
      expect(first.applied).to.deep.equal([
        "001_conversations.cql",
        "002_messages.cql",
        "003_read_positions.cql",
        "004_inbox_by_user.cql",
      ]);
      const tables = await db.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
        [keyspace],
      );
      expect(tables.rows.map((r) => r.get("table_name") as string).sort()).to.deep.equal([
        "conversations",
        "conversations_by_user",
        "inbox_by_user",
        "message_buckets_by_conversation",
        "messages_by_client_id",
        "messages_by_conversation",
        "messages_by_user_pair",
        "read_positions",
        "schema_migrations",
      ]);
      const second = await migrate(db, { keyspace, replication }, log);
      expect(second.applied).to.deep.equal([]);
      expect(second.skipped).to.have.length(4);
      await db.client.execute(`USE ${testConfig().cassandra.keyspace}`, [], { prepare: false });
    });

    it("stop at a failing statement, naming the file and the statement", async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "cql-"));
      try {
        await writeFile(
          path.join(dir, "001_ok.cql"),
          "CREATE TABLE IF NOT EXISTS t1 (id int PRIMARY KEY);",
        );
        await writeFile(
          path.join(dir, "002_bad.cql"),
          "-- two statements\nCREATE TABLE IF NOT EXISTS t2 (id int PRIMARY KEY);\nCREATE TABLE oops (id int;\n",
        );
        const ks = `${keyspace}_bad`;
        const err = await migrate(db, { keyspace: ks, replication, dir }, log).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(MigrationError);
        expect((err as Error).message).to.match(/^cql\/002_bad\.cql statement 2: /);
        expect((err as Error).message).to.contain("CREATE TABLE oops");
        const recorded = await db.execute(`SELECT version FROM ${ks}.schema_migrations`);
        expect(recorded.rows.map((r) => r.get("version"))).to.deep.equal(["001"]);
        await db.client.execute(`DROP KEYSPACE ${ks}`, [], { prepare: false });
      } finally {
        await rm(dir, { recursive: true, force: true });
        await db.client.execute(`USE ${testConfig().cassandra.keyspace}`, [], { prepare: false });
      }
    });

    it("split CQL into statements without comments", () => {
      expect(splitStatements("-- a; b\nCREATE x (a int);\n\nINSERT y;  \n-- end")).to.deep.equal([
        "CREATE x (a int)",
        "INSERT y",
      ]);
    });
  });

  describe("tables round-trip", () => {
    const conversations = () => new ConversationRepository(db);
    const messages = () => new MessageRepository(db);
    const alice = randomUUID();
    const bob = randomUUID();
    const conversation: ConversationRecord = {
      conversationId: directConversationId(alice, bob),
      kind: "direct",
      participantIds: [...canonicalPair(alice, bob)],
      bucketMs: BUCKET,
      createdAt: new Date(Date.now() - 1000),
      lastUpdated: new Date(Date.now() - 1000),
      lastMessage: null,
    };

    it("conversations: created once, read back, newest last message wins", async () => {
      const repo = conversations();
      expect((await repo.createIfAbsent(conversation)).created).to.equal(true);
      const again = await repo.createIfAbsent({ ...conversation, createdAt: new Date() });
      expect(again.created).to.equal(false);
      expect(again.record.createdAt.getTime()).to.equal(conversation.createdAt.getTime());
      const [older, newer] = [v1({ msecs: Date.now() - 5 }), v1()].map((id) =>
        message(conversation.conversationId, id, alice),
      );
      // Written newest first: the older write must not win.
      for (const m of [newer!, older!]) {
        await repo.setLastMessage(m.conversationId, m, writeMicros(m.messageId));
      }
      const stored = await repo.get(conversation.conversationId);
      expect(stored?.participantIds).to.deep.equal(conversation.participantIds);
      expect(stored?.kind).to.equal("direct");
      expect(stored?.bucketMs).to.equal(BUCKET);
      expect(stored?.lastMessage?.messageId).to.equal(newer!.messageId);
      expect(await repo.get(randomUUID())).to.equal(null);
    });

    it("inbox_by_user: slots newest first, message rows first, created rows newest first, removable", async () => {
      const repo = conversations();
      const user = randomUUID();
      const [c1, c2, c3, c4] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const [s1, s2] = [new Date(1_000_000), new Date(2_000_000)];
      const row = (slot: Date, kind: "message" | "created", at: number, conversationId: string) =>
        ({ slot, kind, at: new Date(at), conversationId }) as const;
      await repo.addInboxRows([user], row(s1, "created", 1_000_100, c1));
      await repo.addInboxRows([user], row(s2, "created", 2_000_100, c2));
      await repo.addInboxRows([user], row(s2, "created", 2_000_300, c3));
      await repo.addInboxRows([user], row(s2, "message", 2_000_200, c4));
      const read = async (from: { slot: Date; at: Date; conversationId: string } | null) => {
        const rows = [];
        for await (const r of repo.inboxRows(user, from, 1))
          rows.push(`${r.kind} ${r.conversationId}`);
        return rows;
      };
      expect(await read(null)).to.deep.equal([
        `message ${c4}`,
        `created ${c3}`,
        `created ${c2}`,
        `created ${c1}`,
      ]);
      const from = { slot: s2, at: new Date(2_000_300), conversationId: c3 };
      expect(await read(from)).to.deep.equal([`message ${c4}`, `created ${c2}`, `created ${c1}`]);
      await repo.removeInboxRow(user, row(s2, "created", 2_000_300, c3));
      expect(await read(null)).to.deep.equal([`message ${c4}`, `created ${c2}`, `created ${c1}`]);
    });

    it("a client id stays claimed by the earliest attempt, whatever order claims and marks land in", async () => {
      const repo = messages();
      const [first, second, third] = [v1(), v1(), v1()];
      const attempt = (id: string) => ({
        ...message(conversation.conversationId, id, alice),
        clientMsgId: "race",
      });
      const claimed = async () => (await repo.findByClientId(alice, "race"))!;

      await repo.claimClientId(attempt(second));
      await repo.claimClientId(attempt(first));
      expect((await claimed()).message.messageId).to.equal(first);
      await repo.claimClientId(attempt(third));
      expect(await claimed()).to.deep.include({ committed: false });
      expect((await claimed()).message.messageId).to.equal(first);

      // The commit mark of a later attempt that lost the race does not mark the earlier claim.
      await repo.commitClientId(attempt(second));
      expect((await claimed()).committed).to.equal(false);
      await repo.commitClientId(attempt(first));
      await repo.claimClientId(attempt(third));
      const final = await claimed();
      expect(final.committed).to.equal(true);
      expect(final.message).to.deep.include({ messageId: first, content: attempt(first).content });
    });

    it("messages, buckets, pairs, client ids and read positions", async () => {
      const repo = messages();
      const id = v1();
      const m = { ...message(conversation.conversationId, id, alice), recipientId: bob };
      const bucket = windowStart(messageIdTime(id), BUCKET);
      await repo.insert(m, bucket);
      await repo.addBucket(m.conversationId, bucket);
      await repo.insertForPair(canonicalPair(alice, bob), bucket, m);
      await repo.claimClientId(m);

      expect(await repo.page(m.conversationId, bucket, "older", null, 10)).to.deep.equal([m]);
      const buckets = [];
      for await (const b of repo.buckets(m.conversationId, null, "older")) buckets.push(b);
      expect(buckets).to.deep.equal([bucket]);
      expect(await repo.exists(m.conversationId, bucket, id)).to.equal(true);
      expect(await repo.exists(m.conversationId, bucket, v1())).to.equal(false);
      const claim = await repo.findByClientId(alice, m.clientMsgId);
      expect(claim?.committed).to.equal(false);
      expect(claim?.message.messageId).to.equal(id);
      await repo.commitClientId(m);
      expect((await repo.findByClientId(alice, m.clientMsgId))?.committed).to.equal(true);

      const convRepo = conversations();
      const [r1, r2] = [v1(), v1()];
      await convRepo.setReadPosition(m.conversationId, bob, r2, new Date(), 2_000);
      await convRepo.setReadPosition(m.conversationId, bob, r1, new Date(), 1_000);
      expect((await convRepo.readPositions(m.conversationId)).get(bob)).to.equal(r2);
    });

    it("(a, b) and (b, a) address one pair and one direct conversation", async () => {
      expect(canonicalPair(alice, bob)).to.deep.equal(canonicalPair(bob, alice));
      expect(directConversationId(alice, bob)).to.equal(directConversationId(bob, alice));
      const repo = messages();
      const id = v1();
      const bucket = windowStart(messageIdTime(id), BUCKET);
      await repo.insertForPair(
        canonicalPair(bob, alice),
        bucket,
        message(conversation.conversationId, id, bob),
      );
      const rows = await repo.pairPage(canonicalPair(alice, bob), bucket, 10);
      expect(rows.map((r) => r.messageId)).to.include(id);
    });

    it("two messages written in the same millisecond are both read back", async () => {
      const repo = messages();
      const conversationId = randomUUID();
      const ms = Date.now();
      const ids = [v1({ msecs: ms, nsecs: 0 }), v1({ msecs: ms, nsecs: 1 })];
      expect(ids.map(messageIdTime)).to.deep.equal([ms, ms]);
      const bucket = windowStart(ms, BUCKET);
      for (const id of ids) await repo.insert(message(conversationId, id, alice), bucket);
      const rows = await repo.page(conversationId, bucket, "newer", null, 10);
      expect(rows.map((r) => r.messageId)).to.deep.equal(ids);
      expect(new Set(rows.map((r) => r.sentAt))).to.have.property("size", 1);
    });
  });
});
