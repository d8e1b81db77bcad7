import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { v1 } from "uuid";
import { MigrationError } from "../gateway/errors.js";
import { createLogger } from "../gateway/logger.js";
import {
  canonicalPair,
  directConversationId,
  windowStart,
  writeMicros,
} from "../gateway/services/ids.js";
import type { Db, Statement } from "../gateway/storage/cassandra.js";
import { ClientIdRepository } from "../gateway/storage/client-id-repository.js";
import { ConversationRepository } from "../gateway/storage/conversation-repository.js";
import { MessageRepository } from "../gateway/storage/message-repository.js";
import { MessageStore } from "../gateway/storage/message-store.js";
import { migrate, splitStatements } from "../gateway/storage/migrate.js";
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
        "005_whole_last_message.cql",
        "006_drop_unused_tables.cql",
        "007_message_changes.cql",
        "008_membership.cql",
        "009_sync.cql",
        "010_users.cql",
      ]);
      const tables = await db.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
        [keyspace],
      );
      expect(tables.rows.map((r) => r.get("table_name") as string).sort()).to.deep.equal([
        "changes_by_user",
        "conversations",
        "inbox_by_user",
        "message_buckets_by_conversation",
        "message_changes",
        "messages_by_client_id",
        "messages_by_conversation",
        "reactions_by_message",
        "read_positions",
        "schema_migrations",
        "users",
      ]);
      const second = await migrate(db, { keyspace, replication }, log);
      expect(second.applied).to.deep.equal([]);
      expect(second.skipped).to.have.length(10);
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
    const clientIds = () => new ClientIdRepository(db);
    const run = (s: Statement) => db.execute(s.query, s.params);
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
      for (const m of [newer!, older!]) await run(repo.lastMessage(m.conversationId, m));
      const stored = await repo.get(conversation.conversationId);
      expect(stored?.participantIds).to.deep.equal(conversation.participantIds);
      expect(stored?.kind).to.equal("direct");
      expect(stored?.bucketMs).to.equal(BUCKET);
      expect(stored?.lastMessage?.messageId).to.equal(newer!.messageId);
      expect(stored?.lastMessage).to.deep.equal({
        messageId: newer!.messageId,
        senderId: alice,
        content: newer!.content,
        sentAt: newer!.sentAt,
      });
      expect(stored?.lastUpdated.toISOString()).to.equal(newer!.sentAt);
      expect(await repo.get(randomUUID())).to.equal(null);
    });

    it("conversations: the newest of ten messages made in one microsecond is the whole preview", async () => {
      const repo = conversations();
      const conversationId = randomUUID();
      const ms = Date.now();
      // nsecs counts 100 ns steps: ids 0..9 share one microsecond.
      const burst = Array.from({ length: 10 }, (_, i) =>
        message(conversationId, v1({ msecs: ms, nsecs: i }), i % 2 ? alice : bob),
      );
      const shuffled = [...burst].sort(() => Math.random() - 0.5);
      await Promise.all(shuffled.map((m) => run(repo.lastMessage(conversationId, m))));
      const row = (
        await db.execute("SELECT last_message FROM conversations WHERE conversation_id = ?", [
          conversationId,
        ])
      ).first();
      const cell = row.get("last_message") as { message_id: unknown; sender_id: unknown };
      const newest = burst.at(-1)!;
      expect(String(cell.message_id)).to.equal(newest.messageId);
      expect(String(cell.sender_id)).to.equal(newest.senderId);
      expect(row.get("last_message")).to.have.property("content", newest.content);
    });

    it("inbox_by_user: slots newest first, message rows first, created rows newest first, removable", async () => {
      const repo = conversations();
      const user = randomUUID();
      const [c1, c2, c3, c4] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const [s1, s2] = [new Date(1_000_000), new Date(2_000_000)];
      const row = (slot: Date, kind: "message" | "created", at: number, conversationId: string) =>
        ({ slot, kind, at: new Date(at), conversationId }) as const;
      await repo.addInboxRows({ userIds: [user], row: row(s1, "created", 1_000_100, c1) });
      await repo.addInboxRows({ userIds: [user], row: row(s2, "created", 2_000_100, c2) });
      await repo.addInboxRows({ userIds: [user], row: row(s2, "created", 2_000_300, c3) });
      await repo.addInboxRows({ userIds: [user], row: row(s2, "message", 2_000_200, c4) });
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
      const repo = clientIds();
      const [first, second, third] = [v1(), v1(), v1()];
      const attempt = (id: string) => ({
        ...message(conversation.conversationId, id, alice),
        clientMsgId: "race",
      });
      const claimed = async () => (await repo.find(alice, "race"))!;

      await repo.claim(attempt(second));
      await repo.claim(attempt(first));
      expect((await claimed()).message.messageId).to.equal(first);
      await repo.claim(attempt(third));
      expect(await claimed()).to.deep.include({ committed: false });
      expect((await claimed()).message.messageId).to.equal(first);

      // The commit mark of a later attempt that lost the race does not mark the earlier claim.
      await repo.commit(attempt(second));
      expect((await claimed()).committed).to.equal(false);
      await repo.commit(attempt(first));
      await repo.claim(attempt(third));
      const final = await claimed();
      expect(final.committed).to.equal(true);
      expect(final.message).to.deep.include({ messageId: first, content: attempt(first).content });
    });

    it("a message's append stores its row, its bucket, inbox rows and the preview", async () => {
      const rows = messages();
      const convRepo = conversations();
      const store = new MessageStore(db, { messages: rows, conversations: convRepo });
      const conversationId = randomUUID();
      await convRepo.createIfAbsent({ ...conversation, conversationId });
      const id = v1();
      const m = { ...message(conversationId, id, alice), recipientId: bob };
      const bucket = windowStart(messageIdTime(id), BUCKET);
      const slot = windowStart(messageIdTime(id), 3_600_000);
      const row = { slot, kind: "message", at: new Date(m.sentAt), conversationId } as const;
      await store.append({
        message: m,
        bucket,
        indexBucket: true,
        inbox: { userIds: [alice, bob], row },
      });

      expect(await rows.page(conversationId, bucket, "older", null, 10)).to.deep.equal([m]);
      const buckets = [];
      for await (const b of rows.buckets(conversationId, null, "older")) buckets.push(b);
      expect(buckets).to.deep.equal([bucket]);
      expect(await rows.exists(conversationId, bucket, id)).to.equal(true);
      expect(await rows.exists(conversationId, bucket, v1())).to.equal(false);
      expect((await convRepo.get(conversationId))?.lastMessage?.messageId).to.equal(id);
      for (const user of [alice, bob]) {
        const inbox = [];
        for await (const r of convRepo.inboxRows(user, null, 10)) inbox.push(r);
        expect(inbox).to.deep.include(row);
      }
    });

    it("read positions keep the newest message whatever order the writes land in", async () => {
      const repo = conversations();
      const conversationId = randomUUID();
      const [r1, r2] = [v1(), v1()];
      await repo.setReadPosition(conversationId, bob, r2, new Date(), writeMicros(r2));
      await repo.setReadPosition(conversationId, bob, r1, new Date(), writeMicros(r1));
      const row = await db.execute(
        "SELECT message_id FROM read_positions WHERE conversation_id = ? AND user_id = ?",
        [conversationId, bob],
      );
      expect(String(row.first().get("message_id"))).to.equal(r2);
    });

    it("(a, b) and (b, a) address one pair and one direct conversation", () => {
      expect(canonicalPair(alice, bob)).to.deep.equal(canonicalPair(bob, alice));
      expect(directConversationId(alice, bob)).to.equal(directConversationId(bob, alice));
    });

    it("two messages written in the same millisecond are both read back", async () => {
      const repo = messages();
      const conversationId = randomUUID();
      const ms = Date.now();
      const ids = [v1({ msecs: ms, nsecs: 0 }), v1({ msecs: ms, nsecs: 1 })];
      expect(ids.map(messageIdTime)).to.deep.equal([ms, ms]);
      const bucket = windowStart(ms, BUCKET);
      for (const id of ids) await run(repo.insert(message(conversationId, id, alice), bucket));
      const rows = await repo.page(conversationId, bucket, "newer", null, 10);
      expect(rows.map((r) => r.messageId)).to.deep.equal(ids);
      expect(new Set(rows.map((r) => r.sentAt))).to.have.property("size", 1);
    });
  });
});
