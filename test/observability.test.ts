// /metrics moves with traffic, and the logs of a whole session, at trace level, carry a request
// id per request and never a token or a message's content.
import { expect } from "chai";
import jwt from "jsonwebtoken";
import { emitWithoutAck, expectFailure, raw, refusalOf } from "./support/answers.js";
import { collect, eventually, newUserId, ok, TestCluster } from "./support/cluster.js";

/** The samples of a Prometheus text exposition, keyed `name{labels}` as printed. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).to.equal(200);
  expect(res.headers.get("content-type")).to.match(/^text\/plain/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    const match = /^([a-z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

describe("observability", function () {
  this.timeout(30_000);

  describe("/metrics", () => {
    const cluster = new TestCluster();
    before(() => cluster.start(1));
    after(() => cluster.stop());

    it("counts sockets, sends, deliveries, errors by code, handshake refusals and latencies", async () => {
      const node = cluster.nodes[0]!;
      const at = (m: Map<string, number>, key: string) => m.get(key) ?? 0;
      const before = await scrape(node.url);
      const [alice, bob] = [newUserId(), newUserId()];
      const [a, b] = await Promise.all([cluster.connect(node, alice), cluster.connect(node, bob)]);
      const atBob = collect(b, "message:new");
      const sent = await ok(a, "message:send", {
        recipientId: bob,
        clientMsgId: "m",
        content: "x",
      });
      await eventually(() => atBob.length === 1, 5000, "the delivery");
      await ok(b, "history:fetch", { conversationId: sent.message.conversationId });
      expectFailure(await raw(b, "message:send", { content: 1 }), "BAD_REQUEST", "bad send");
      await refusalOf(cluster.connect(node, newUserId(), { token: "not-a-token" }));
      const after = await scrape(node.url);

      const moved = (key: string) => at(after, key) - at(before, key);
      expect(at(after, "chat_connected_sockets")).to.equal(
        at(before, "chat_connected_sockets") + 2,
      );
      expect(moved("chat_messages_sent_total")).to.equal(1);
      expect(moved('chat_fanout_total{event="message:new"}')).to.be.at.least(1);
      expect(moved('chat_requests_total{event="message:send",outcome="ok"}')).to.equal(1);
      expect(moved('chat_requests_total{event="message:send",outcome="BAD_REQUEST"}')).to.equal(1);
      expect(
        moved('chat_handshake_refusals_total{code="UNAUTHORIZED",reason="malformed"}'),
      ).to.equal(1);
      expect(moved('chat_request_duration_seconds_count{event="message:send"}')).to.equal(2);
      expect(moved('chat_request_duration_seconds_count{event="history:fetch"}')).to.equal(1);
      expect(
        moved('chat_request_duration_seconds_bucket{le="+Inf",event="history:fetch"}'),
      ).to.equal(1);
    });
  });

  describe("logs", () => {
    const cluster = new TestCluster();
    const lines: string[] = [];
    before(() => cluster.start(1, { LOG_LEVEL: "trace" }, { write: (line) => lines.push(line) }));
    after(() => cluster.stop());

    it("a session at trace level: a request id on every request, no token or content anywhere", async () => {
      const node = cluster.nodes[0]!;
      const [alice, bob] = [newUserId(), newUserId()];
      const tokens = [cluster.token(alice), cluster.token(bob)];
      const forged = jwt.sign({ sub: alice }, "forged", { algorithm: "HS256", expiresIn: 60 });
      const secrets = ["s3cret-hello-7f1", "s3cret-bad-22c", "s3cret-noack-91d", "s3cret-far-5e0"];

      const a = await cluster.connect(node, alice, { token: tokens[0] });
      const b = await cluster.connect(node, bob, {
        token: null,
        headers: { Authorization: `Bearer ${tokens[1]}` },
      });
      await refusalOf(cluster.connect(node, alice, { token: forged }));
      const sent = await ok(a, "message:send", {
        recipientId: bob,
        clientMsgId: "c1",
        content: secrets[0]!,
      });
      const { conversationId } = sent.message;
      await ok(b, "history:fetch", { conversationId });
      await ok(b, "message:read", { conversationId, messageId: sent.message.messageId });
      expectFailure(
        await raw(a, "message:send", { conversationId, clientMsgId: "c 2", content: secrets[1] }),
        "BAD_REQUEST",
        "bad clientMsgId",
      );
      emitWithoutAck(a, "message:send", { conversationId, clientMsgId: "c3", content: secrets[2] });
      const stranger = await cluster.connect(node, newUserId());
      expectFailure(
        await raw(stranger, "message:send", {
          conversationId,
          clientMsgId: "c4",
          content: secrets[3],
        }),
        "NOT_FOUND",
        "stranger",
      );
      a.disconnect();
      await eventually(
        () => lines.some((l) => l.includes('"socket disconnected"')),
        5000,
        "the disconnect's log line",
      );

      const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const answered = entries.filter((e) => e.msg === "request answered");
      expect(answered.map((e) => [e.event, e.outcome])).to.deep.equal([
        ["message:send", "ok"],
        ["history:fetch", "ok"],
        ["message:read", "ok"],
        ["message:send", "BAD_REQUEST"],
        ["message:send", "NOT_FOUND"],
      ]);
      const ids = answered.map((e) => e.req);
      expect(new Set(ids).size, "a distinct request id each").to.equal(answered.length);
      for (const e of answered) expect(e).to.include.keys("req", "user", "node", "ms");

      // Whole tokens, their signatures alone, and every content sent, in no line at all.
      const forbidden = [...tokens, forged, ...[...tokens, forged].map((t) => t.split(".")[2]!)];
      for (const line of lines) {
        for (const s of [...forbidden, ...secrets]) expect(line).to.not.include(s);
      }
    });
  });
});
