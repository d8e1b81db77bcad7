// What a send promises when storage fails (docs/protocol.md, "Delivery and ordering"): a failed
// send is not acknowledged, no reader sees a preview without its message, and a retry with the
// same clientMsgId completes it exactly once. Real Cassandra; the fault is injected around the
// real append's two steps: before them, between them, or after them (its answer lost).
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { GatewayError, unavailable } from "../gateway/errors.js";
import { createLogger } from "../gateway/logger.js";
import { ConversationService } from "../gateway/services/conversation-service.js";
import { NameService } from "../gateway/services/name-service.js";
import { SendIdempotency } from "../gateway/services/idempotency.js";
import { MessageViews } from "../gateway/services/message-view.js";
import { MessageService } from "../gateway/services/message-service.js";
import type { FanOut } from "../gateway/services/ports.js";
import type { Db } from "../gateway/storage/cassandra.js";
import { ClientIdRepository } from "../gateway/storage/client-id-repository.js";
import { ConversationRepository } from "../gateway/storage/conversation-repository.js";
import { MessageRepository } from "../gateway/storage/message-repository.js";
import { ReactionRepository } from "../gateway/storage/reaction-repository.js";
import { UserRepository } from "../gateway/storage/user-repository.js";
import { MessageStore } from "../gateway/storage/message-store.js";
import type { MessageAppend } from "../gateway/storage/records.js";
import type { Message } from "../shared/protocol.js";
import { openTestDb } from "./support/db.js";

type Fault = "none" | "before" | "between" | "after";

describe("send outcome when storage fails", () => {
  let db: Db;
  let fault: Fault;
  const delivered: Message[] = [];
  let messages: MessageService;
  let conversations: ConversationService;

  before(async () => {
    db = await openTestDb();
    const log = createLogger("silent", "test");
    const fanOut: FanOut = {
      messageNew: (_users, m) => void delivered.push(m),
      receipt: () => undefined,
      typing: () => undefined,
      conversationNew: () => undefined,
      notify: () => undefined,
      conversationChanged: async () => undefined,
      onConversationChanged: () => undefined,
    };
    const conversationRows = new ConversationRepository(db);
    const messageRows = new MessageRepository(db);
    const clientIds = new ClientIdRepository(db);
    const real = new MessageStore(db, { messages: messageRows, conversations: conversationRows });
    // The real append, with a fault before, between or after its steps.
    const store = {
      async append(entry: MessageAppend) {
        if (fault === "before") throw unavailable();
        await real.storeMessage(entry);
        if (fault === "between") throw unavailable();
        await real.storePreview(entry);
        if (fault === "after") throw unavailable();
      },
    } as MessageStore;
    const storage = { messageBucketMs: 86_400_000, inboxSlotMs: 3_600_000 };
    conversations = new ConversationService({
      repo: conversationRows,
      messageRows,
      fanOut,
      names: new NameService({ repo: new UserRepository(db), cacheMs: 0, log }),
      opts: storage,
      log,
    });
    messages = new MessageService({
      store,
      messageRows,
      views: new MessageViews(messageRows, new ReactionRepository(db)),
      idempotency: new SendIdempotency(clientIds, log),
      conversations,
      fanOut,
    });
  });
  after(() => db.client.shutdown());
  beforeEach(() => {
    fault = "none";
    delivered.splice(0);
  });

  const [alice, bob] = [randomUUID(), randomUUID()];
  const send = (clientMsgId: string, content = "hello") =>
    messages.send(alice, { recipientId: bob, clientMsgId, content });
  const unavailableError = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail("the send was acknowledged"),
      (err: unknown) => {
        expect(err).to.be.instanceOf(GatewayError);
        expect((err as GatewayError).code).to.equal("UNAVAILABLE");
      },
    );
  /** What any reader sees: the history page and the conversation's preview. */
  const seen = async () => {
    const conversation = await conversations.openDirect(bob, alice);
    const page = await messages.history(bob, {
      conversationId: conversation.conversationId,
      limit: 50,
    });
    return { history: page.messages, preview: conversation.lastMessage };
  };

  it("refused before it is stored: nothing is visible; a retry stores and delivers it once", async () => {
    const before = await seen();
    fault = "before";
    await unavailableError(send("refused", "first try"));
    expect(await seen()).to.deep.equal(before);
    expect(delivered).to.deep.equal([]);

    fault = "none";
    const stored = await send("refused", "first try");
    const after = await seen();
    expect(after.history.filter((m) => m.clientMsgId === "refused")).to.deep.equal([stored]);
    expect(after.preview?.messageId).to.equal(stored.messageId);
    expect(delivered).to.deep.equal([stored]);
  });

  it("interrupted between its steps: in history, the preview not yet moved; a retry completes it once", async () => {
    const before = await seen();
    fault = "between";
    await unavailableError(send("between", "half way"));
    const halfway = await seen();
    const shown = halfway.history.filter((m) => m.clientMsgId === "between");
    expect(shown).to.have.length(1);
    // The preview still shows what it showed: it never points at a message that is not stored.
    expect(halfway.preview).to.deep.equal(before.preview);
    expect(delivered).to.deep.equal([]);

    fault = "none";
    const retried = await send("between", "half way");
    expect(retried).to.deep.equal(shown[0]);
    const after = await seen();
    expect(after.history.filter((m) => m.clientMsgId === "between")).to.deep.equal([retried]);
    expect(after.preview?.messageId).to.equal(retried.messageId);
    expect(delivered).to.deep.equal([retried]);
  });

  it("stored but its answer lost: visible whole, not acknowledged; a retry completes it under its first id", async () => {
    fault = "after";
    await unavailableError(send("lost-answer", "landed anyway"));
    const landed = await seen();
    const shown = landed.history.filter((m) => m.clientMsgId === "lost-answer");
    expect(shown).to.have.length(1);
    // The preview is that same message, whole: never a preview without its message.
    expect(landed.preview).to.deep.equal({
      messageId: shown[0]!.messageId,
      senderId: alice,
      content: "landed anyway",
      sentAt: shown[0]!.sentAt,
    });
    expect(delivered).to.deep.equal([]);

    fault = "none";
    const retried = await send("lost-answer", "landed anyway");
    expect(retried).to.deep.equal(shown[0]);
    const after = await seen();
    expect(after.history.filter((m) => m.clientMsgId === "lost-answer")).to.deep.equal([retried]);
    expect(delivered).to.deep.equal([retried]);
    // Finished: a further retry is answered the same and delivers nothing again.
    expect(await send("lost-answer", "landed anyway")).to.deep.equal(retried);
    expect(delivered).to.have.length(1);
  });
});
