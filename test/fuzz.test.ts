// Property-based fuzzing of every request event against a real node: wrong types, missing and
// extra fields, huge and deeply nested values, `__proto__`/`constructor` keys, binary
// attachments, near-miss UUIDs, with and without an acknowledgement callback. Every answer is a
// contract error (or a real success for a payload that is in fact valid), the node keeps
// serving, nothing is stored that no successful request asked for, and no prototype is polluted.
// The seed is fixed so a failure reproduces; FUZZ_SEED=<n> explores another sequence.
import { expect } from "chai";
import { allBudgets } from "../gateway/config.js";
import fc from "fast-check";
import { Decoder, Encoder, type Packet, PacketType } from "socket.io-parser";
import { ERROR_CODES, type Message, type RequestEvent } from "../shared/protocol.js";
import { MAX_CONTENT_CHARS } from "../shared/limits.js";
import { requestSchemas } from "../shared/schemas.js";
import { emitWithoutAck, expectFailure, raw } from "./support/answers.js";
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

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const RUNS = 400;
const NOT_INTERNAL = ERROR_CODES.filter((code) => code !== "INTERNAL");

/** The fields each event knows, so generated payloads are near misses, not only noise. */
const FIELDS: Record<RequestEvent, string[]> = {
  "message:send": ["conversationId", "recipientId", "clientMsgId", "content", "replyTo"],
  "history:fetch": ["conversationId", "limit", "cursor", "before"],
  "history:since": ["conversationId", "after", "limit"],
  "conversations:list": ["limit", "cursor"],
  "conversation:open": ["peerId"],
  "conversation:create": ["participantIds", "title"],
  "message:read": ["conversationId", "messageId"],
  typing: ["conversationId", "typing"],
  "message:edit": ["conversationId", "messageId", "content"],
  "message:delete": ["conversationId", "messageId"],
  "reaction:add": ["conversationId", "messageId", "emoji"],
  "reaction:remove": ["conversationId", "messageId", "emoji"],
  "changes:since": ["conversationId", "after", "cursor", "limit"],
  "conversation:add": ["conversationId", "userIds"],
  "conversation:remove": ["conversationId", "userId"],
  "conversation:rename": ["conversationId", "title"],
  "conversation:leave": ["conversationId"],
  sync: ["position", "cursor", "limit"],
  "auth:refresh": ["token"],
  "presence:subscribe": ["conversationIds"],
};
const EVENTS = Object.keys(FIELDS) as RequestEvent[];
const DANGEROUS_KEYS = ["__proto__", "constructor", "prototype", "toString", "then", ""];

/** Nested `depth` levels deep, as arrays or objects. */
const nested = (depth: number, asArray: boolean, leaf: unknown): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
};

function hostile(known: { ids: string[]; messageIds: string[] }) {
  const id = fc.oneof(
    fc.constantFrom(...known.ids, ...known.messageIds),
    fc.constantFrom(...known.ids).map((s) => s.toUpperCase()),
    fc.constantFrom(...known.ids).map((s) => ` ${s}`),
    fc.constantFrom(...known.ids).map((s) => s.slice(1)),
    fc.uuid(),
    fc.uuid({ version: 1 }),
    fc.constantFrom("", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "{}"),
  );
  const scalar = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constantFrom(null, undefined, 0, -1, 101, 1.5, "10", [], {}),
  );
  const huge = fc
    .integer({ min: MAX_CONTENT_CHARS - 2, max: 200_000 })
    .chain((n) => fc.constantFrom("x".repeat(n), "😀".repeat(n), " ".repeat(n)));
  const deep = fc
    .tuple(fc.integer({ min: 50, max: 2000 }), fc.boolean())
    .map(([depth, asArray]) => nested(depth, asArray, "leaf"));
  const binary = fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes));
  const polluting = fc
    .tuple(fc.constantFrom(...DANGEROUS_KEYS), fc.constantFrom({ polluted: true }, "x", null))
    .map(([key, value]) => Object.fromEntries([[key, value]]) as unknown);
  const anything = fc.anything({
    maxDepth: 4,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withSparseArray: true,
    withBoxedValues: true,
    withNullPrototype: true,
  });
  const value: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: id },
    { weight: 3, arbitrary: scalar },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: binary },
    { weight: 1, arbitrary: polluting },
    { weight: 2, arbitrary: anything },
    { weight: 1, arbitrary: fc.array(id, { maxLength: 300 }) },
  );

  /** An object of the event's fields (any of them missing) and perhaps dangerous extra keys. */
  const shaped = (event: RequestEvent) =>
    fc
      .tuple(
        fc
          .subarray(FIELDS[event])
          .chain((keys) => fc.tuple(...keys.map((k) => fc.tuple(fc.constant(k), value)))),
        fc.array(fc.tuple(fc.constantFrom(...DANGEROUS_KEYS), value), { maxLength: 2 }),
      )
      // fromEntries defines "__proto__" as an own key, the way JSON.parse does on the server.
      .map(([fields, extra]) => Object.fromEntries([...fields, ...extra]) as unknown);

  return fc.constantFrom(...EVENTS).chain((event) =>
    fc.record({
      event: fc.constant(event),
      payload: fc.oneof({ weight: 5, arbitrary: shaped(event) }, value),
      withAck: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)),
    }),
  );
}

/**
 * The payload as the server's handlers receive it: encoded by the parser socket.io-client uses
 * and decoded by the server's. JSON drops undefined and functions, turns NaN into null, and for
 * a frame with binary attachments the client rebuilds objects key by key, so an own `__proto__`
 * key is lost on the way.
 */
function onTheWire(payload: unknown): unknown {
  const parts = new Encoder().encode({ type: PacketType.EVENT, nsp: "/", data: ["e", payload] });
  let received: unknown;
  const decoder = new Decoder();
  decoder.on("decoded", (packet: Packet) => {
    received = (packet.data as unknown[])[1];
  });
  for (const part of parts) decoder.add(part);
  return received;
}

const validOnTheWire = (event: RequestEvent, payload: unknown) =>
  requestSchemas[event].safeParse(onTheWire(payload)).success;

describe("fuzzing every request event with malformed payloads", function () {
  this.timeout(120_000);
  const cluster = new TestCluster();
  const [fuzzer, peer] = [newUserId(), newUserId()];
  let attacker: Client;
  let control: Client;
  let peerSocket: Client;
  let conversationId: string;
  let planted: Message;

  before(async () => {
    const [node] = await cluster.start(1, allBudgets("100000/1"));
    [attacker, control, peerSocket] = await Promise.all([
      cluster.connect(node!, fuzzer),
      cluster.connect(node!, newUserId()),
      cluster.connect(node!, peer),
    ]);
    // A real conversation of the fuzzer, so generated payloads carry ids that exist.
    planted = (
      await ok(peerSocket, "message:send", {
        recipientId: fuzzer,
        clientMsgId: "planted",
        content: "planted",
      })
    ).message;
    conversationId = planted.conversationId;
  });
  after(() => cluster.stop());

  it(`answers ${RUNS} generated requests with contract errors, stores nothing malformed (seed ${SEED})`, async () => {
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const atPeer = collect(peerSocket, "message:new");
    const receipts = collect(peerSocket, "receipt");
    const accepted: { event: RequestEvent; answer: Record<string, unknown> }[] = [];
    const arbitrary = hostile({
      ids: [conversationId, peer, fuzzer],
      messageIds: [planted.messageId],
    });

    await fc.assert(
      fc.asyncProperty(arbitrary, async ({ event, payload, withAck }) => {
        if (!withAck) {
          emitWithoutAck(attacker, event, payload);
        } else {
          const answer = (await raw(attacker, event, payload)) as Record<string, unknown>;
          const what = `${event} ${JSON.stringify(payload)?.slice(0, 200)}`;
          if (answer.ok === true) {
            expect(validOnTheWire(event, payload), `accepted but invalid: ${what}`).to.equal(true);
            accepted.push({ event, answer });
          } else {
            const code = expectFailure(answer, NOT_INTERNAL, what);
            if (!validOnTheWire(event, payload)) {
              expect(["BAD_REQUEST", "PAYLOAD_TOO_LARGE"], what).to.include(code);
            }
          }
        }
        // The node keeps serving, and the attacker's socket stays open.
        await ok(control, "conversations:list", { limit: 1 });
        expect(attacker.connected).to.equal(true);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );

    expect(Object.getOwnPropertyNames(Object.prototype).sort()).to.deep.equal(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);

    // Only what a successful request did is there: the messages in the fuzzer's conversation
    // with the peer are the planted one and the accepted sends into it, and the fuzzer's inbox
    // holds only conversations that accepted requests answered.
    const sentOk = accepted
      .filter((a) => a.event === "message:send")
      .map((a) => a.answer.message as Message);
    const history = await ok(attacker, "history:fetch", { conversationId, limit: 100 });
    expect(history.messages.map((m) => m.messageId)).to.have.members([
      planted.messageId,
      ...sentOk.filter((m) => m.conversationId === conversationId).map((m) => m.messageId),
    ]);
    const answeredIds = new Set([
      conversationId,
      ...sentOk.map((m) => m.conversationId),
      ...accepted
        .filter((a) => a.event === "conversation:open" || a.event === "conversation:create")
        .map((a) => (a.answer.conversation as { conversationId: string }).conversationId),
    ]);
    const inbox = await ok(attacker, "conversations:list", { limit: 100 });
    for (const c of inbox.conversations) expect(answeredIds).to.include(c.conversationId);
    // Nothing reached the peer that no accepted request sent.
    await sleep(QUIET_MS);
    const toPeer = sentOk.filter((m) => m.conversationId === conversationId).length;
    await eventually(() => atPeer.length === toPeer, 5000, "the accepted sends at the peer");
    const readOk = accepted.filter((a) => a.event === "message:read").length;
    expect(receipts.length).to.be.at.most(readOk);
  });
});
