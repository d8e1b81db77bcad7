// The one place that talks to cassandra-driver directly: connecting, and running prepared
// statements with driver failures turned into the contract's UNAVAILABLE.
import { performance } from "node:perf_hooks";
import cassandra from "cassandra-driver";
import type { Config } from "../config.js";
import { sleep } from "../../shared/sleep.js";
import { GatewayError, StartupError, unavailable } from "../errors.js";
import type { Logger } from "../logger.js";
import { RequestWindow } from "./request-window.js";

export type Row = cassandra.types.Row;
export type Params = unknown[];
/** One statement, for a repository to hand to the store that runs it. */
export type Statement = { query: string; params: Params };

const { responseErrorCodes } = cassandra.types;
const STORAGE_UNAVAILABLE = new Set<number>([
  responseErrorCodes.unavailableException,
  responseErrorCodes.overloaded,
  responseErrorCodes.isBootstrapping,
  responseErrorCodes.writeTimeout,
  responseErrorCodes.readTimeout,
  responseErrorCodes.writeFailure,
  responseErrorCodes.readFailure,
  responseErrorCodes.truncateError,
]);

function isUnavailable(err: unknown): boolean {
  const { errors } = cassandra;
  if (err instanceof errors.NoHostAvailableError) return true;
  if (err instanceof errors.OperationTimedOutError) return true;
  if (err instanceof errors.BusyConnectionError) return true;
  if (err instanceof errors.ResponseError) return STORAGE_UNAVAILABLE.has(err.code);
  return false;
}

function translate(err: unknown): Error {
  if (err instanceof GatewayError) return err;
  if (isUnavailable(err)) return Object.assign(unavailable(), { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

type Consistency = Config["cassandra"]["consistency"];

const CONSISTENCIES: Record<Consistency, number> = {
  LOCAL_QUORUM: cassandra.types.consistencies.localQuorum,
  QUORUM: cassandra.types.consistencies.quorum,
  EACH_QUORUM: cassandra.types.consistencies.eachQuorum,
  LOCAL_ONE: cassandra.types.consistencies.localOne,
  ONE: cassandra.types.consistencies.one,
  TWO: cassandra.types.consistencies.two,
  THREE: cassandra.types.consistencies.three,
  ALL: cassandra.types.consistencies.all,
};

export class Db {
  private readonly consistency: number;
  private readonly window: RequestWindow | null;

  constructor(
    readonly client: cassandra.Client,
    consistency: Consistency,
    /** Told every request's duration in seconds, failed ones included. */
    private readonly observe: (seconds: number) => void = () => undefined,
    /** How long requests wait to go out together; 0: each at once. */
    coalesceMs = 0,
  ) {
    this.consistency = CONSISTENCIES[consistency];
    this.window = coalesceMs > 0 ? new RequestWindow(coalesceMs) : null;
  }

  async execute(query: string, params: Params = [], options: cassandra.QueryOptions = {}) {
    if (this.window) await this.window.wait();
    const started = performance.now();
    try {
      return await this.client.execute(query, params, {
        prepare: true,
        consistency: this.consistency,
        // Running a write twice stores the same (ids come with the request, writes that may
        // race carry their own timestamps), so the driver may retry it on another node when its
        // coordinator dies mid-request. Not a lightweight transaction: its retry would read its
        // own first attempt as "not applied".
        isIdempotent: options.serialConsistency === undefined,
        ...options,
      });
    } catch (err) {
      throw translate(err);
    } finally {
      this.observe((performance.now() - started) / 1000);
    }
  }

  /** Runs the statements concurrently; resolves once every one succeeded. */
  async all(statements: Statement[]): Promise<void> {
    await Promise.all(statements.map((s) => this.execute(s.query, s.params)));
  }

  /** The first row of a query's answer, if any. */
  async first(query: string, params: Params): Promise<Row | null> {
    return (await this.execute(query, params)).first() ?? null;
  }

  /** Every page of a query, lazily: callers stop when they have enough. */
  async *rows(query: string, params: Params, fetchSize: number): AsyncGenerator<Row> {
    let pageState: string | undefined;
    do {
      const result = await this.execute(query, params, { fetchSize, pageState });
      yield* result.rows;
      pageState = result.pageState ?? undefined;
    } while (pageState);
  }

  /**
   * A read of the keyspace at the configured consistency: true only while enough replicas are up
   * for requests to succeed (system.local would answer with one node of three left).
   */
  async ping(timeoutMs: number): Promise<boolean> {
    const keyspace = this.client.keyspace;
    if (!keyspace) return false;
    try {
      await this.client.execute(
        `SELECT version FROM ${keyspace}.schema_migrations WHERE version = ?`,
        ["001"],
        { prepare: true, consistency: this.consistency, readTimeout: timeoutMs },
      );
      return true;
    } catch {
      return false;
    }
  }
}

/** The CQL port of the contact points, when they share one: the driver uses it for peers too. */
function sharedPort(contactPoints: string[]): number | undefined {
  const ports = new Set(contactPoints.map((p) => /:(\d+)$/.exec(p)?.[1] ?? "9042"));
  return ports.size === 1 ? Number([...ports][0]) : undefined;
}

function clientOptions(cfg: Config["cassandra"]): cassandra.ClientOptions {
  const port = sharedPort(cfg.contactPoints);
  return {
    contactPoints: cfg.contactPoints,
    // Peers found through system.peers are reached on this port, not on the contact point's.
    ...(port === undefined ? {} : { protocolOptions: { port } }),
    localDataCenter: cfg.localDataCenter,
    credentials:
      cfg.username && cfg.password ? { username: cfg.username, password: cfg.password } : undefined,
    queryOptions: { consistency: CONSISTENCIES[cfg.consistency], prepare: true },
    socketOptions: { connectTimeout: 5000, readTimeout: 12000 },
    pooling: { heartBeatInterval: 10000 },
    // The node's own reconnection keeps going after an outage; readiness reports the gap.
    policies: {
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(
        250,
        5000,
        false,
      ),
    },
  };
}

/** Connects, retrying until the configured deadline, then fails with one clear line. */
export async function connectCassandra(
  cfg: Config["cassandra"],
  log: Logger,
  observe?: (seconds: number) => void,
): Promise<Db> {
  const deadline = Date.now() + cfg.connectTimeoutS * 1000;
  for (let attempt = 1; ; attempt++) {
    const client = new cassandra.Client(clientOptions(cfg));
    try {
      await client.connect();
      log.info({ contactPoints: cfg.contactPoints, attempt }, "cassandra connected");
      return new Db(client, cfg.consistency, observe, cfg.coalesceMs);
    } catch (err) {
      await client.shutdown().catch(() => undefined);
      if (Date.now() + 1000 > deadline) {
        throw new StartupError(
          `Cassandra not reachable at ${cfg.contactPoints.join(",")} after ${cfg.connectTimeoutS} s`,
        );
      }
      log.debug({ err, attempt }, "cassandra not reachable yet");
      await sleep(1000);
    }
  }
}
