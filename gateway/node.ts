// Assembles one gateway node from its parts. Tests start several in one process with this.
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { createTokenVerifier } from "./auth/token-verifier.js";
import type { Config } from "./config.js";
import {
  connectRedis,
  redisAdapter,
  redisAnswers,
  watchRedisLatency,
  type RedisClient,
} from "./fanout/redis.js";
import { OutageBacklog } from "./fanout/outage-backlog.js";
import { replayAfterOutages } from "./fanout/outage-replay.js";
import { watchSubscriptionGaps } from "./fanout/subscription-gaps.js";
import { SocketIoFanOut } from "./fanout/socketio-fanout.js";
import { RedisPresenceStore } from "./fanout/presence-redis.js";
import { SocketIoPresence } from "./fanout/socketio-presence.js";
import { devRoutes } from "./http/dev-routes.js";
import { createMetrics, type Metrics } from "./http/metrics.js";
import { httpRoutes } from "./http/routes.js";
import { createLimits } from "./limits/limits.js";
import { StartupError } from "./errors.js";
import { createLogger, type Logger } from "./logger.js";
import { ConversationService } from "./services/conversation-service.js";
import { SendIdempotency } from "./services/idempotency.js";
import { MembershipService } from "./services/membership-service.js";
import { MessageChangeService } from "./services/message-change-service.js";
import { MessageService } from "./services/message-service.js";
import { MessageViews } from "./services/message-view.js";
import { NameService } from "./services/name-service.js";
import { SyncService } from "./services/sync-service.js";
import { PresenceService } from "./services/presence-service.js";
import { connectCassandra, type Db } from "./storage/cassandra.js";
import { ChangeRepository } from "./storage/change-repository.js";
import { ClientIdRepository } from "./storage/client-id-repository.js";
import { ConversationRepository } from "./storage/conversation-repository.js";
import { MessageRepository } from "./storage/message-repository.js";
import { MessageChangeStore } from "./storage/message-change-store.js";
import { MessageStore } from "./storage/message-store.js";
import { migrate } from "./storage/migrate.js";
import { ReactionRepository } from "./storage/reaction-repository.js";
import { UserRepository } from "./storage/user-repository.js";
import { disconnect, type DisconnectReason } from "./transport/close.js";
import { attachConnections } from "./transport/connection.js";
import { RequestGate } from "./transport/request-gate.js";
import { trackPresence } from "./transport/presence-hooks.js";
import { userRoom, type GatewayServer } from "./transport/types.js";

/** How long a stopping node still takes requests on its open sockets before refusing them. */
const SHUTDOWN_LINGER_MS = 250;
/** How long shutdown waits for a socket to take its last answers before closing it anyway. */
const SHUTDOWN_FLUSH_MS = 1000;

export type GatewayNode = {
  config: Config;
  port: number;
  url: string;
  io: GatewayServer;
  http: HttpServer;
  db: Db;
  metrics: Metrics;
  log: Logger;
  stop(): Promise<void>;
};

function listen(http: HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, host, () => {
      http.off("error", reject);
      resolve((http.address() as AddressInfo).port);
    });
  });
}

export async function startGateway(
  config: Config,
  opts: { logger?: Logger; defaultMetrics?: boolean } = {},
): Promise<GatewayNode> {
  const log = opts.logger ?? createLogger(config.logLevel, config.nodeId);
  const metrics = createMetrics({ defaultMetrics: opts.defaultMetrics ?? false });
  let db: Db | undefined;
  let pub: RedisClient | undefined;
  let sub: RedisClient | undefined;
  let ready = false;

  // HTTP first: /healthz answers at once and /readyz says 503 until storage and Redis answer.
  const http = createServer(
    httpRoutes(
      async () => {
        const checks = {
          cassandra: db ? await db.ping(1000) : false,
          redis: pub ? await redisAnswers(pub) : false,
        };
        return { ready: ready && checks.cassandra && checks.redis, checks };
      },
      metrics,
      config.env === "production" ? undefined : devRoutes(config),
    ),
  );
  const port = await listen(http, config.port, config.host);
  log.info({ port }, "http listening");

  try {
    db = await connectCassandra(config.cassandra, log, (s) =>
      metrics.cassandraRequestSeconds.observe(s),
    );
    const { keyspace, replication, migrateOnStart } = config.cassandra;
    if (migrateOnStart) await migrate(db, { keyspace, replication }, log);
    else await useKeyspace(db, keyspace);
    ({ pub, sub } = await connectRedis(config.redis, log, config.nodeId));
  } catch (err) {
    await Promise.allSettled([db?.client.shutdown(), pub?.quit(), sub?.quit()]);
    http.close();
    throw err;
  }

  const io: GatewayServer = new Server(http, {
    adapter: redisAdapter(config.redis, pub, sub),
    // Frames above this close the connection in the transport before any handler runs; it is
    // above the largest valid request, so an oversized request is answered PAYLOAD_TOO_LARGE
    // (request-handlers.ts) on a socket that stays open.
    maxHttpBufferSize: config.limits.maxFrameBytes,
    serveClient: false,
  });
  const backlog = new OutageBacklog(config.fanOutReplayBacklog);
  const fanOut = new SocketIoFanOut(
    io,
    backlog,
    (event, users) => metrics.fanoutTotal.inc({ event }, users),
    config.redis.adapter === "sharded",
  );

  const conversationRows = new ConversationRepository(db);
  const messageRows = new MessageRepository(db);
  const clientIds = new ClientIdRepository(db);
  const reactions = new ReactionRepository(db);
  const changeRows = new ChangeRepository(db);
  const views = new MessageViews(messageRows, reactions);
  const names = new NameService({
    repo: new UserRepository(db),
    cacheMs: config.namesCacheS * 1000,
    log,
  });
  const conversations = new ConversationService({
    repo: conversationRows,
    messageRows,
    fanOut,
    names,
    opts: config.storage,
    log,
  });
  const messages = new MessageService({
    store: new MessageStore(db, { messages: messageRows, conversations: conversationRows }),
    messageRows,
    views,
    idempotency: new SendIdempotency(clientIds, log),
    conversations,
    fanOut,
  });
  fanOut.onConversationChanged((id) => conversations.forget(id));
  const changes = new MessageChangeService({
    store: new MessageChangeStore(db, {
      messages: messageRows,
      conversations: conversationRows,
      changes: changeRows,
      clientIds,
      reactions,
    }),
    changes: changeRows,
    reactions,
    views,
    conversations,
    fanOut,
  });
  const limits = createLimits(config.limits, {
    redis: pub,
    countSockets: async (userId) => (await io.in(userRoom(userId)).fetchSockets()).length,
    log,
  });
  const presence = new PresenceService({
    store: new RedisPresenceStore(pub, config.redis.channelPrefix, config.presence.ttlMs),
    channel: new SocketIoPresence(io, (state) =>
      metrics.presenceChangesTotal.inc({ state: state.online ? "online" : "offline" }),
    ),
    conversations,
    config: config.presence,
    nodeId: config.nodeId,
    log,
  });
  await presence.start();
  trackPresence(io, presence);
  const gate = new RequestGate();
  attachConnections(io, {
    verify: createTokenVerifier(config.jwt),
    isReady: () => ready,
    limits,
    services: {
      messages,
      changes,
      conversations,
      members: new MembershipService({ conversations, messages, fanOut, names }),
      sync: new SyncService({
        conversations,
        repo: conversationRows,
        inboxSlotMs: config.storage.inboxSlotMs,
      }),
      names,
      presence,
    },
    gate,
    sendBufferLimitBytes: config.sendBufferLimitBytes,
    sessionExpiringMs: config.sessionExpiringS * 1000,
    metrics,
    log,
  });
  const closeAll = (reason: DisconnectReason, flushMs = 0) => {
    const sockets = [...io.of("/").sockets.values()];
    for (const socket of sockets) disconnect(socket, reason, metrics, flushMs);
    return sockets.length;
  };
  replayAfterOutages(pub, sub, backlog, {
    replayed: (count) => metrics.fanoutReplayedTotal.inc(count),
    lost: (users) => {
      fanOut.syncRequired(users);
      const count = users === "everyone" ? 1 : users.size;
      metrics.fanoutSyncRequiredTotal.inc(count);
      log.warn(
        { users: users === "everyone" ? "everyone" : count },
        "outage backlog overflowed; its recipients are told to catch up",
      );
    },
    log,
  });
  // The replay above cannot cover this node's own subscriptions coming back late.
  watchSubscriptionGaps(pub, sub, () => {
    fanOut.syncLocal();
    // Membership changes made meanwhile could not ask this node to forget its copies.
    conversations.forgetAll();
    metrics.fanoutSubscriptionGapsTotal.inc();
    log.warn(
      { sockets: io.of("/").sockets.size },
      "redis subscriptions back; sockets told to catch up",
    );
  });
  ready = true;
  log.info({ port, keyspace: config.cassandra.keyspace }, "gateway ready");

  const stopPings = watchRedisLatency(pub, (s) => metrics.redisPingSeconds.observe(s));
  const connected = { db, pub, sub };
  return {
    config,
    port,
    url: `http://127.0.0.1:${port}`,
    io,
    http,
    db,
    metrics,
    log,
    /**
     * Stops taking connections and requests, lets running requests answer, closes the sockets
     * with a reason so clients reconnect elsewhere, then lets go of Redis and Cassandra. Each
     * wait is bounded by SHUTDOWN_TIMEOUT_S.
     */
    async stop() {
      const timeoutMs = config.shutdownTimeoutS * 1000;
      ready = false;
      stopPings();
      http.close();
      // Requests already on their way when the signal came are still taken and answered.
      await new Promise((resolve) => setTimeout(resolve, SHUTDOWN_LINGER_MS));
      if (!(await gate.close(timeoutMs))) log.warn("shutdown: requests still running at timeout");
      // One more pass over the sockets, so requests that had already arrived (on a busy node,
      // behind the timer) are refused with an answer rather than cut off unread.
      await new Promise((resolve) => setImmediate(resolve));
      await limits.stop();
      // Before the sockets close, so their users are not announced offline one by one.
      await presence.stop();
      const sockets = closeAll("shutdown", SHUTDOWN_FLUSH_MS);
      log.info({ sockets }, "shutdown: sockets closed");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([
          io.close(),
          connected.pub.quit(),
          connected.sub.quit(),
          connected.db.client.shutdown(),
        ]),
        new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    },
  };
}

async function useKeyspace(db: Db, keyspace: string) {
  try {
    await db.client.execute(`USE ${keyspace}`, [], { prepare: false });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new StartupError(
      `keyspace ${keyspace} is not usable (${reason}); start one node with MIGRATE_ON_START=true`,
    );
  }
}
