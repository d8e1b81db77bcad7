// Artillery processor for chat.yml: a token per virtual user, and the acknowledged sends and
// their latency as custom metrics (chat.acked, chat.ack_ms). CommonJS, as Artillery loads it.
const { randomUUID } = require("node:crypto");
const jwt = require("jsonwebtoken");

// The development secret, as the gateway uses it outside production when none is set.
const secret = process.env.JWT_SECRET ?? "dev-secret-change-me";

/** A fresh user with a token valid for an hour, and a peer to write to. */
function mintToken(context, _events, done) {
  const userId = randomUUID();
  const claims = {
    sub: userId,
    ...(process.env.JWT_ISSUER ? { iss: process.env.JWT_ISSUER } : {}),
    ...(process.env.JWT_AUDIENCE ? { aud: process.env.JWT_AUDIENCE } : {}),
  };
  context.vars.token = jwt.sign(claims, secret, { algorithm: "HS256", expiresIn: "1h" });
  context.vars.peerId = randomUUID();
  done();
}

/** A new clientMsgId per send, and when it left. */
function nextSend(context, _events, done) {
  context.vars.clientMsgId = randomUUID();
  context.vars.sentAt = performance.now();
  done();
}

/** Runs after the acknowledgement matched `ok: true`. */
function recordAck(context, events, done) {
  events.emit("counter", "chat.acked", 1);
  events.emit("histogram", "chat.ack_ms", performance.now() - context.vars.sentAt);
  done();
}

module.exports = { mintToken, nextSend, recordAck };
