// Starts real gateway nodes in-process against the test keyspace, and typed clients for them.
import { randomUUID } from "node:crypto";
import type { DestinationStream } from "pino";
import { io as connect } from "socket.io-client";
import { signDevToken } from "../../gateway/auth/dev-token.js";
import { loadConfig, type Config } from "../../gateway/config.js";
import { createLogger } from "../../gateway/logger.js";
import { startGateway, type GatewayNode } from "../../gateway/node.js";
import type {
  RequestAnswer,
  RequestEvent,
  RequestPayload,
  RequestResult,
  ServerToClientEvents,
} from "../../shared/protocol.js";
import { emitRequest, type ProtocolSocket } from "../../shared/request.js";

export { sleep } from "../../shared/sleep.js";

export type Client = ProtocolSocket;

/** Configuration for a test node: the run's keyspace, no migration (the global setup did it). */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    MIGRATE_ON_START: "false",
    CASSANDRA_CONNECT_TIMEOUT_S: "10",
    REDIS_CONNECT_TIMEOUT_S: "10",
    // This run's nodes only: other runs sharing the Redis would be counted by adapter requests.
    REDIS_CHANNEL_PREFIX: `chat-test-${process.pid}`,
    ...env,
  });
}

export const newUserId = () => randomUUID();

export class TestCluster {
  readonly nodes: GatewayNode[] = [];
  private readonly clients: Client[] = [];

  /** Starts nodes; `logTo` receives their log lines. */
  async start(
    count = 1,
    env: Record<string, string> = {},
    logTo?: DestinationStream,
  ): Promise<GatewayNode[]> {
    const started = await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const config = testConfig({ NODE_ID: `test-node-${this.nodes.length + i}`, ...env });
        return startGateway(config, {
          logger: createLogger(config.logLevel, config.nodeId, logTo),
        });
      }),
    );
    this.nodes.push(...started);
    return started;
  }

  token(userId: string, ttlSeconds = 3600): string {
    const node = this.nodes[0];
    if (!node) throw new Error("start a node first");
    return signDevToken(node.config, userId, ttlSeconds);
  }

  /** A connected client for `userId` on `node`; rejects with the connect_error if refused. */
  async connect(
    node: GatewayNode,
    userId: string,
    opts: {
      token?: string | null;
      headers?: Record<string, string>;
      transport?: "websocket" | "polling";
    } = {},
  ): Promise<Client> {
    const token = opts.token === undefined ? this.token(userId) : opts.token;
    const client: Client = connect(node.url, {
      auth: token === null ? {} : { token },
      transports: [opts.transport ?? "websocket"],
      reconnection: false,
      forceNew: true,
      extraHeaders: opts.headers,
    });
    this.clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("connect_error", (err) => reject(err));
    });
    return client;
  }

  /** Stops one node; `start(1, { PORT: String(node.port) })` brings it back on the same port. */
  async stopNode(node: GatewayNode): Promise<void> {
    const index = this.nodes.indexOf(node);
    if (index >= 0) this.nodes.splice(index, 1);
    await node.stop();
  }

  async stop(): Promise<void> {
    for (const c of this.clients.splice(0)) c.disconnect();
    await Promise.all(this.nodes.splice(0).map((n) => n.stop()));
  }
}

/** Sends a request and waits for its answer (with a timeout, so a missing answer fails the test). */
export function request<E extends RequestEvent>(
  client: Client,
  event: E,
  payload: RequestPayload<E>,
  timeoutMs = 10_000,
): Promise<RequestAnswer<E>> {
  return emitRequest(client, event, payload, timeoutMs);
}

/** Like request, but fails unless the answer is ok, and returns it narrowed. */
export async function ok<E extends RequestEvent>(
  client: Client,
  event: E,
  payload: RequestPayload<E>,
): Promise<RequestResult<E>> {
  const answer = await request(client, event, payload);
  if (!answer.ok) throw new Error(`${event} failed: ${JSON.stringify(answer.error)}`);
  return answer as RequestResult<E>;
}

/** Collects every payload of an event a client receives. */
export function collect<K extends keyof ServerToClientEvents>(client: Client, event: K) {
  const seen: Parameters<ServerToClientEvents[K]>[0][] = [];
  (client.on as (e: string, fn: (p: never) => void) => void).call(client, event, (p: never) => {
    seen.push(p);
  });
  return seen;
}

export async function eventually(check: () => boolean, timeoutMs = 5000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** How long a negative check ("nothing arrived") waits after its positive control has arrived. */
export const QUIET_MS = 300;
