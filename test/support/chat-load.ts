// The load that runs during a fault: users on ChatClients (the shared client library: retried
// sends, catch-up after reconnect, dedupe) send to a group and to direct conversations; the
// counts and the final check say whether any acknowledged message was lost or stored twice.
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { compareMessageIds } from "../../shared/message-id.js";
import type { Message } from "../../shared/protocol.js";
import { ChatClient, RequestError } from "../../shared/client/index.js";
import { eventually, sleep } from "./cluster.js";
import { tokenFor } from "./gateway-process.js";

export type LoadCounts = {
  sent: number;
  acked: number;
  failed: number;
  deliveredLive: number;
  recoveredByCatchUp: number;
  lost: number;
  duplicated: number;
  reconnects: number;
};

export type Participant = {
  userId: string;
  client: ChatClient;
  /** Every message the client passed on, by id: what a chat UI would show. */
  held: Map<string, Message>;
  conversations: Set<string>;
  recovered: number;
  liveReceipts: number;
  reconnects: number;
};

/** A connected ChatClient for `userId` at `url`, reconnecting quickly as the tests need. */
export async function connectChatClient(url: string, userId: string): Promise<ChatClient> {
  const client = new ChatClient({
    url,
    token: () => tokenFor(userId),
    requestTimeoutMs: 5000,
    sendTimeoutMs: 60_000,
    retryDelayMs: 100,
    socket: {
      transports: ["websocket"],
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 1000,
    },
  });
  await client.connect();
  return client;
}

export class ChatLoad {
  readonly participants: Participant[] = [];
  /** Conversation id → its participants' user ids. */
  readonly conversations = new Map<string, string[]>();
  private readonly acked = new Map<string, Message>();
  private sent = 0;
  private failed = 0;

  private constructor(private readonly url: string) {}

  /**
   * `users` clients through `url`, one group of all of them and a direct conversation between
   * each user and the next.
   */
  static async start(url: string, users: number): Promise<ChatLoad> {
    const load = new ChatLoad(url);
    for (let i = 0; i < users; i++) load.participants.push(await load.join(randomUUID()));
    const [first, ...rest] = load.participants;
    if (!first) throw new Error("no users");
    const { conversation } = await first.client.request("conversation:create", {
      participantIds: rest.map((p) => p.userId),
      title: "load",
    });
    load.addConversation(conversation.conversationId, load.participants);
    for (let i = 0; i + 1 < users; i++) {
      const [a, b] = [load.participants[i]!, load.participants[i + 1]!];
      const direct = await a.client.request("conversation:open", { peerId: b.userId });
      load.addConversation(direct.conversation.conversationId, [a, b]);
    }
    return load;
  }

  private async join(userId: string): Promise<Participant> {
    const client = await connectChatClient(this.url, userId);
    const p: Participant = {
      userId,
      client,
      held: new Map(),
      conversations: new Set(),
      recovered: 0,
      liveReceipts: 0,
      reconnects: 0, // counted from here: the client is already connected
    };
    client.on("message", (m) => p.held.set(m.messageId, m));
    client.on("synced", ({ messages }) => (p.recovered += messages));
    client.on("status", ({ status }) => {
      if (status === "connected") p.reconnects++;
    });
    client.socket.on("message:new", () => p.liveReceipts++);
    return p;
  }

  private addConversation(conversationId: string, members: Participant[]) {
    this.conversations.set(
      conversationId,
      members.map((m) => m.userId),
    );
    for (const m of members) {
      m.conversations.add(conversationId);
      m.client.track(conversationId);
    }
  }

  /**
   * Every user sends `perUser` messages, one every `intervalMs` without waiting for the answers,
   * round robin over their conversations. Resolves when every send has an outcome.
   */
  async run(perUser: number, intervalMs: number): Promise<void> {
    const outcomes: Promise<void>[] = [];
    const loops = this.participants.map(async (p, u) => {
      const mine = [...p.conversations];
      for (let i = 0; i < perUser; i++) {
        const conversationId = mine[(i + u) % mine.length]!;
        this.sent++;
        outcomes.push(
          p.client.send({ conversationId, content: `${p.userId.slice(0, 8)} #${i}` }).then(
            (m) => void this.acked.set(m.messageId, m),
            (err: unknown) => {
              if (!(err instanceof RequestError)) throw err;
              this.failed++;
            },
          ),
        );
        await sleep(intervalMs);
      }
    });
    await Promise.all(loops);
    await Promise.all(outcomes);
  }

  /** A message acknowledged to a request made outside `run`, held by its sender as `send` would. */
  record(message: Message) {
    this.sent++;
    this.acked.set(message.messageId, message);
    this.participants
      .find((p) => p.userId === message.senderId)
      ?.held.set(message.messageId, message);
  }

  /** Acknowledged messages of a conversation. */
  ackedIn(conversationId: string): Message[] {
    return [...this.acked.values()].filter((m) => m.conversationId === conversationId);
  }

  /** Waits until every client holds every acknowledged message of its conversations. */
  async settle(timeoutMs = 20_000) {
    await eventually(
      () => this.participants.every((p) => this.missing(p).length === 0),
      timeoutMs,
      "every client to hold every acknowledged message",
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(this.counts())}`);
    });
  }

  /** Ids of the messages acknowledged so far: a phase's messages are the difference of two. */
  ackedIds(): Set<string> {
    return new Set(this.acked.keys());
  }

  /** Lost and duplicated among the acknowledged messages `ids` (after settle, the final say). */
  outcomeOf(ids: Set<string>): { lost: number; duplicated: number } {
    let lost = 0;
    let duplicated = 0;
    for (const p of this.participants) {
      lost += this.missing(p).filter((m) => ids.has(m.messageId)).length;
      const bySend = new Map<string, number>();
      for (const m of p.held.values()) bySend.set(sendKey(m), (bySend.get(sendKey(m)) ?? 0) + 1);
      duplicated += [...p.held.values()].filter(
        (m) => ids.has(m.messageId) && bySend.get(sendKey(m))! > 1,
      ).length;
    }
    return { lost, duplicated };
  }

  private missing(p: Participant): Message[] {
    return [...this.acked.values()].filter(
      (m) => p.conversations.has(m.conversationId) && !p.held.has(m.messageId),
    );
  }

  /**
   * Sends `count` messages, one at a time, from the first participant into its first
   * conversation and answers each outcome: "ok" or the error code. A refused probe stores
   * nothing, so it is not recorded as a send.
   */
  async probe(count: number): Promise<string[]> {
    const [first] = this.participants;
    const [conversationId] = this.conversations.keys();
    const outcomes: string[] = [];
    for (let i = 0; i < count; i++) {
      outcomes.push(
        await first!.client
          .request("message:send", {
            conversationId: conversationId!,
            clientMsgId: `probe-${i}`,
            content: "x",
          })
          .then(
            () => "ok",
            (err: unknown) => (err instanceof RequestError ? err.code : String(err)),
          ),
      );
    }
    return outcomes;
  }

  counts(): LoadCounts {
    let deliveredLive = 0;
    let recoveredByCatchUp = 0;
    let lost = 0;
    let duplicated = 0;
    let reconnects = 0;
    for (const p of this.participants) {
      const own = [...p.held.values()].filter((m) => m.senderId === p.userId).length;
      recoveredByCatchUp += p.recovered;
      deliveredLive += p.held.size - own - p.recovered;
      lost += this.missing(p).length;
      duplicated += p.held.size - new Set([...p.held.values()].map(sendKey)).size;
      reconnects += p.reconnects;
    }
    return {
      sent: this.sent,
      acked: this.acked.size,
      failed: this.failed,
      deliveredLive,
      recoveredByCatchUp,
      lost,
      duplicated,
      reconnects,
    };
  }

  /**
   * The end state, checked against storage: each conversation's stored history (read through a
   * fresh client) holds every acknowledged message once, no send stored twice, in canonical
   * order; and every participant holds exactly the stored messages.
   */
  async verify(): Promise<LoadCounts> {
    const counts = this.counts();
    console.log(`      load: ${JSON.stringify(counts)}`);
    expect(counts.lost, "acknowledged messages a client does not hold").to.equal(0);
    expect(counts.duplicated, "sends held twice after dedupe").to.equal(0);
    expect(counts.acked + counts.failed).to.equal(counts.sent);
    for (const [conversationId, members] of this.conversations) {
      const reader = this.participants.find((p) => p.userId === members[0])!;
      const stored = await storedHistory(reader.client, conversationId);
      const ids = stored.map((m) => m.messageId);
      expect(ids, "stored order").to.deep.equal([...ids].sort(compareMessageIds));
      expect(new Set(stored.map(sendKey)).size, "sends stored twice").to.equal(stored.length);
      expect(ids).to.include.members(this.ackedIn(conversationId).map((m) => m.messageId));
      for (const p of this.participants.filter((q) => members.includes(q.userId))) {
        const held = [...p.held.values()].filter((m) => m.conversationId === conversationId);
        expect(held.map((m) => m.messageId).sort(compareMessageIds)).to.deep.equal(ids);
      }
    }
    return counts;
  }

  close() {
    for (const p of this.participants) p.client.close();
  }
}

const sendKey = (m: Message) => `${m.senderId}/${m.clientMsgId}`;

/** A conversation's whole stored history, oldest first. */
async function storedHistory(client: ChatClient, conversationId: string): Promise<Message[]> {
  const all: Message[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.request("history:fetch", { conversationId, limit: 100, cursor });
    all.push(...page.messages);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all.reverse();
}
