// The fan-out ceiling: Socket.IO and the Redis adapter with the gateway's rooms and broadcast,
// and no storage, auth or validation. Started as a child process by bench/nodes.ts.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";
import { loadConfig } from "../gateway/config.js";
import { connectRedis, redisAdapter } from "../gateway/fanout/redis.js";
import { createLogger } from "../gateway/logger.js";
import { userRoom } from "../gateway/transport/types.js";
import type { InterServerEvents } from "../shared/protocol.js";
import type { BareClientToServerEvents, BareServerToClientEvents } from "./bare-protocol.js";

const config = loadConfig();
const log = createLogger(config.logLevel, config.nodeId);
const { pub, sub } = await connectRedis(config.redis, log, config.nodeId);

const http = createServer((req, res) => {
  res.writeHead(req.url === "/readyz" ? 200 : 404).end();
});
const io = new Server<
  BareClientToServerEvents,
  BareServerToClientEvents,
  InterServerEvents,
  { userId: string }
>(http, {
  // The variants bench/options.ts can compare: REDIS_ADAPTER as the gateway reads it, and the
  // msgpack parser, which the gateway cannot use without changing the wire contract.
  adapter: redisAdapter(config.redis, pub, sub),
  ...(process.env.BENCH_PARSER === "msgpack" ? { parser: msgpackParser } : {}),
  serveClient: false,
});

io.on("connection", (socket) => {
  const auth: unknown = socket.handshake.auth;
  const userId =
    auth && typeof auth === "object" && "userId" in auth ? String(auth.userId) : randomUUID();
  void socket.join(userRoom(userId));
  socket.on("message:send", (req, ack) => {
    const message = {
      conversationId: req.conversationId,
      messageId: randomUUID(),
      senderId: userId,
      clientMsgId: req.clientMsgId,
      content: req.content,
      sentAt: new Date().toISOString(),
    };
    // BENCH_EMIT=per-room (bench/scaling.ts): one broadcast per recipient's room, which the
    // sharded adapter publishes on that room's own channel, heard only by nodes holding it.
    if (process.env.BENCH_EMIT === "per-room") {
      for (const id of req.participantIds) {
        if (id !== userId) io.to(userRoom(id)).emit("message:new", message);
      }
    } else {
      io.to(req.participantIds.map(userRoom)).except(socket.id).emit("message:new", message);
    }
    ack({ ok: true, message });
  });
});

http.listen(config.port, config.host);
const stop = () => {
  void io
    .close()
    .then(() => Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0)));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
