// Handshake authentication (docs/protocol.md, "Connecting and authentication"), with tokens
// crafted here by jsonwebtoken against the node's configured secret.
import { createHmac, generateKeyPairSync, type KeyObject } from "node:crypto";
import { expect } from "chai";
import { metricValue } from "./support/gateway-process.js";
import jwt from "jsonwebtoken";
import { Manager } from "socket.io-client";
import type { AuthRefusalReason, Message } from "../shared/protocol.js";
import { type Refusal, refusalOf } from "./support/answers.js";
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

const nowS = () => Math.floor(Date.now() / 1000);
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** The handshake's refusal, or a failure if it was accepted. */
const refusal = (
  cluster: TestCluster,
  opts: { token?: string | null; headers?: Record<string, string> },
): Promise<Refusal> => refusalOf(cluster.connect(cluster.nodes[0]!, newUserId(), opts));

/** Refused with message UNAUTHORIZED and data exactly { code: "UNAUTHORIZED", reason }. */
async function expectRefused(
  cluster: TestCluster,
  opts: { token?: string | null; headers?: Record<string, string> },
  reasons: AuthRefusalReason[],
): Promise<AuthRefusalReason> {
  const err = await refusal(cluster, opts);
  expect(err.message).to.equal("UNAUTHORIZED");
  expect(err.data).to.be.an("object");
  expect(err.data).to.have.all.keys("code", "reason");
  const data = err.data as { code: string; reason: AuthRefusalReason };
  expect(data.code).to.equal("UNAUTHORIZED");
  expect(reasons, `reason ${data.reason}`).to.include(data.reason);
  return data.reason;
}

/** The client acts as `userId`: a direct conversation it opens has that user in it. */
async function expectActsAs(client: Client, userId: string) {
  const { conversation } = await ok(client, "conversation:open", { peerId: newUserId() });
  expect(conversation.participantIds).to.include(userId);
}

/**
 * A Socket.IO connection driven frame by frame: `connect` sends the CONNECT packet with a token,
 * `request` an EVENT with an ack id; every decoded packet the server sends lands in `packets`.
 */
async function rawConnection(url: string) {
  const manager = new Manager(url, {
    transports: ["websocket"],
    reconnection: false,
    autoConnect: false,
  });
  await new Promise<void>((resolve, reject) =>
    manager.open((err) => (err ? reject(err) : resolve())),
  );
  const packets: unknown[] = [];
  manager.on("packet", (p) => packets.push({ ...p }));
  // engine.write adds engine.io's message prefix "4"; what follows is a socket.io packet:
  // "0" CONNECT with its auth, "2" EVENT with its ack id.
  return {
    packets,
    connect: (token: string) => manager.engine.write(`0${JSON.stringify({ token })}`),
    request: (ackId: number, event: string, payload: unknown) =>
      manager.engine.write(`2${ackId}${JSON.stringify([event, payload])}`),
    close: () => manager.engine.close(),
  };
}

describe("handshake authentication", function () {
  this.timeout(20_000);
  const cluster = new TestCluster();
  before(() => cluster.start(1));
  after(() => cluster.stop());

  const node = () => cluster.nodes[0]!;
  const secret = () => node().config.jwt.secret;
  const sign = (userId: string, opts: jwt.SignOptions = {}, key = secret()) =>
    jwt.sign({}, key, { algorithm: "HS256", subject: userId, expiresIn: 3600, ...opts });

  it("accepts a token in auth.token", async () => {
    const user = newUserId();
    const client = await cluster.connect(node(), user, { token: sign(user) });
    expect(client.connected).to.equal(true);
    await expectActsAs(client, user);
  });

  it("accepts a token in an `Authorization: Bearer` header", async () => {
    const user = newUserId();
    const client = await cluster.connect(node(), user, {
      token: null,
      headers: { Authorization: `Bearer ${sign(user)}` },
    });
    expect(client.connected).to.equal(true);
    await expectActsAs(client, user);
  });

  describe("refuses with connect_error UNAUTHORIZED and a reason", () => {
    it("missing: no token at all", async () => {
      await expectRefused(cluster, { token: null }, ["missing"]);
    });

    it("malformed: a token that is not a JWT", async () => {
      await expectRefused(cluster, { token: "abc" }, ["malformed"]);
    });

    it("expired: a token past its exp", async () => {
      const expired = jwt.sign({ sub: newUserId(), exp: nowS() - 60 }, secret(), {
        algorithm: "HS256",
      });
      await expectRefused(cluster, { token: expired }, ["expired"]);
    });

    it("invalid: a wrong signature", async () => {
      await expectRefused(cluster, { token: sign(newUserId(), {}, `${secret()}-not`) }, [
        "invalid",
      ]);
    });

    it('invalid (or malformed): `alg: "none"` with an empty signature', async () => {
      const header = b64url({ alg: "none", typ: "JWT" });
      const payload = b64url({ sub: newUserId(), iat: nowS(), exp: nowS() + 3600 });
      const reason = await expectRefused(cluster, { token: `${header}.${payload}.` }, [
        "invalid",
        "malformed",
      ]);
      // The gateway currently says "invalid"; pinned here so a change is noticed.
      expect(reason).to.equal("invalid");
    });

    it("invalid: a token without exp", async () => {
      const noExp = jwt.sign({ sub: newUserId() }, secret(), { algorithm: "HS256" });
      expect(jwt.decode(noExp)).to.not.have.property("exp");
      await expectRefused(cluster, { token: noExp }, ["invalid"]);
    });

    it("invalid: sub that is not a UUID, or no sub", async () => {
      await expectRefused(cluster, { token: sign("alice") }, ["invalid"]);
      const noSub = jwt.sign({}, secret(), { algorithm: "HS256", expiresIn: 3600 });
      await expectRefused(cluster, { token: noSub }, ["invalid"]);
    });

    it("invalid: HS384 with the right secret (algorithms are pinned)", async () => {
      await expectRefused(cluster, { token: sign(newUserId(), { algorithm: "HS384" }) }, [
        "invalid",
      ]);
    });

    it("invalid: nbf further ahead than the clock tolerance; within it, accepted", async () => {
      const tolerance = node().config.jwt.clockToleranceS;
      const notYet = (user: string, aheadS: number) =>
        jwt.sign({ sub: user, nbf: nowS() + aheadS, exp: nowS() + 3600 }, secret(), {
          algorithm: "HS256",
        });
      await expectRefused(cluster, { token: notYet(newUserId(), tolerance + 60) }, ["invalid"]);
      const user = newUserId();
      const skewed = await cluster.connect(node(), user, {
        token: notYet(user, Math.max(1, tolerance - 2)),
      });
      await expectActsAs(skewed, user);
    });

    it("the same reasons through the Authorization header", async () => {
      const bearer = (token: string) => ({
        token: null,
        headers: { Authorization: `Bearer ${token}` },
      });
      await expectRefused(cluster, bearer("abc"), ["malformed"]);
      await expectRefused(cluster, bearer(sign(newUserId(), {}, "other")), ["invalid"]);
    });
  });

  it("(control for the next test) raw frames with a valid token are answered", async () => {
    const user = newUserId();
    const conn = await rawConnection(node().url);
    try {
      conn.connect(sign(user));
      await eventually(() => conn.packets.length > 0, 5000, "the CONNECT answer");
      expect(conn.packets[0]).to.include({ type: 0, nsp: "/" });
      conn.request(7, "conversations:list", {});
      await eventually(() => conn.packets.length > 1, 5000, "the ack");
      expect(conn.packets[1]).to.deep.equal({
        type: 3,
        nsp: "/",
        id: 7,
        data: [{ ok: true, conversations: [], nextCursor: null }],
      });
    } finally {
      conn.close();
    }
  });

  it("a refused handshake stores nothing and delivers nothing", async () => {
    const [alice, bob, carol] = [newUserId(), newUserId(), newUserId()];
    const [ca, cb, cc] = await Promise.all([
      cluster.connect(node(), alice),
      cluster.connect(node(), bob),
      cluster.connect(node(), carol),
    ]);
    const atBob = collect(cb, "message:new");
    const atCarol = [
      collect(cc, "message:new"),
      collect(cc, "conversation:new"),
      collect(cc, "typing"),
    ];

    // A raw connection claiming to be Bob with a forged token, which goes on sending requests
    // with acks after its refusal, as a misbehaving client could.
    const forgedConnection = await rawConnection(node().url);
    const { packets } = forgedConnection;
    try {
      forgedConnection.connect(sign(bob, {}, "forged-secret"));
      await eventually(() => packets.length > 0, 5000, "the refusal");
      forgedConnection.request(1, "message:send", {
        recipientId: carol,
        clientMsgId: "f1",
        content: "forged",
      });
      forgedConnection.request(2, "conversation:create", { participantIds: [carol] });
      forgedConnection.request(3, "conversations:list", {});

      // Positive control: a real message to Bob arrives at his real socket.
      const sent = await ok(ca, "message:send", {
        recipientId: bob,
        clientMsgId: "real",
        content: "for bob",
      });
      await eventually(() => atBob.length === 1, 5000, "message:new at bob");
      await sleep(QUIET_MS);

      expect(packets).to.deep.equal([
        {
          type: 4,
          nsp: "/",
          data: { message: "UNAUTHORIZED", data: { code: "UNAUTHORIZED", reason: "invalid" } },
        },
      ]);
      expect(ids(atBob)).to.deep.equal([sent.message.messageId]);
      expect(atCarol.map((events) => events.length)).to.deep.equal([0, 0, 0]);
      expect((await ok(cc, "conversations:list", {})).conversations).to.deep.equal([]);
      const bobsList = await ok(cb, "conversations:list", {});
      expect(bobsList.conversations.map((c) => c.conversationId)).to.deep.equal([
        sent.message.conversationId,
      ]);
      // Bob's clientMsgId "f1" was never recorded: using it now sends a new message.
      const real = await ok(cb, "message:send", {
        recipientId: carol,
        clientMsgId: "f1",
        content: "really bob",
      });
      expect(real.message.content).to.equal("really bob");
    } finally {
      forgedConnection.close();
    }
  });

  it("a socket whose token expires gets session:expired, then is disconnected", async () => {
    const user = newUserId();
    const token = cluster.token(user, 2);
    const exp = (jwt.decode(token) as { exp: number }).exp * 1000;
    const client = await cluster.connect(node(), user, { token });
    const lasting = await cluster.connect(node(), user);
    const events: { what: string; at: number }[] = [];
    client.on("session:expired", () => events.push({ what: "session:expired", at: Date.now() }));
    client.on("disconnect", (reason) =>
      events.push({ what: `disconnect:${reason}`, at: Date.now() }),
    );
    await ok(client, "conversations:list", {});
    await eventually(() => events.length >= 2, 5000, "session:expired and disconnect");
    expect(events.map((e) => e.what)).to.deep.equal([
      "session:expired",
      "disconnect:io server disconnect",
    ]);
    expect(events[0]!.at).to.be.at.least(exp - 50);
    expect(client.connected).to.equal(false);
    expect(
      await metricValue(node().url, 'chat_server_disconnects_total{reason="tokenExpired"}'),
      "counted as a server disconnect",
    ).to.be.at.least(1);
    // Only that socket: the same user's socket with a longer token stays.
    await sleep(QUIET_MS);
    expect(lasting.connected).to.equal(true);
    await ok(lasting, "conversations:list", {});
  });

  describe("with JWT_ISSUER and JWT_AUDIENCE set", () => {
    const strict = new TestCluster();
    before(() => strict.start(1, { JWT_ISSUER: "x", JWT_AUDIENCE: "y" }));
    after(() => strict.stop());

    const signFor = (opts: jwt.SignOptions) => sign(newUserId(), opts, secret());

    it("accepts a token with that issuer and audience", async () => {
      const user = newUserId();
      const token = sign(user, { issuer: "x", audience: "y" });
      const client = await strict.connect(strict.nodes[0]!, user, { token });
      await expectActsAs(client, user);
    });

    it("refuses a wrong or missing audience, and a wrong or missing issuer", async () => {
      for (const opts of [
        { issuer: "x", audience: "z" },
        { issuer: "x" },
        { issuer: "w", audience: "y" },
        { audience: "y" },
      ]) {
        const reason = await expectRefused(strict, { token: signFor(opts) }, ["invalid"]);
        expect(reason, JSON.stringify(opts)).to.equal("invalid");
      }
    });
  });

  describe("with JWT_PUBLIC_KEY", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pem = (key: KeyObject) => key.export({ type: "spki", format: "pem" }).toString();

    /** An HS256 token whose HMAC key is `key`, built by hand: jsonwebtoken refuses to sign it. */
    const hmacSigned = (key: string, user: string) => {
      const head = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url({ sub: user, exp: nowS() + 3600 })}`;
      return `${head}.${createHmac("sha256", key).update(head).digest("base64url")}`;
    };

    for (const { name, keys, algorithm, wrong } of [
      { name: "RSA", keys: rsa, algorithm: "RS256", wrong: { keys: ec, algorithm: "ES256" } },
      { name: "EC P-256", keys: ec, algorithm: "ES256", wrong: { keys: rsa, algorithm: "RS256" } },
    ] as const) {
      describe(`an ${name} key`, () => {
        const keyed = new TestCluster();
        before(() => keyed.start(1, { JWT_PUBLIC_KEY: pem(keys.publicKey) }));
        after(() => keyed.stop());
        const signWith = (user: string, key: KeyObject, alg: jwt.Algorithm) =>
          jwt.sign({}, key, { algorithm: alg, subject: user, expiresIn: 3600 });

        it(`accepts ${algorithm} signed with the private key`, async () => {
          const user = newUserId();
          const token = signWith(user, keys.privateKey, algorithm);
          await expectActsAs(await keyed.connect(keyed.nodes[0]!, user, { token }), user);
        });

        it("refuses HS256 keyed with the public key PEM (key confusion), or with JWT_SECRET", async () => {
          const publicPem = keyed.nodes[0]!.config.jwt.publicKey!;
          for (const token of [
            hmacSigned(publicPem, newUserId()),
            hmacSigned(keyed.nodes[0]!.config.jwt.secret, newUserId()),
          ]) {
            await expectRefused(keyed, { token }, ["invalid"]);
          }
        });

        it(`refuses ${wrong.algorithm} and ${algorithm} from another key`, async () => {
          const foreign = (
            algorithm === "RS256"
              ? generateKeyPairSync("rsa", { modulusLength: 2048 })
              : generateKeyPairSync("ec", { namedCurve: "P-256" })
          ).privateKey;
          for (const token of [
            signWith(newUserId(), wrong.keys.privateKey, wrong.algorithm),
            signWith(newUserId(), foreign, algorithm),
          ]) {
            await expectRefused(keyed, { token }, ["invalid"]);
          }
        });
      });
    }
  });
});

const ids = (ms: Message[]) => ms.map((m) => m.messageId);
