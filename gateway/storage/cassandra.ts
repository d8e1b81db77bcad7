// The one place that talks to cassandra-driver directly: connecting, and running prepared
// statements with driver failures turned into the contract's UNAVAILABLE.
import cassandra from "cassandra-driver";
import type { Config } from "../config.js";
import { sleep } from "../../shared/sleep.js";
import { GatewayError, StartupError, unavailable } from "../errors.js";
import type { Logger } from "../logger.js";

export type Row = cassandra.types.Row;
export type Params = unknown[];
/** One statement of a batch. */
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

const READ = cassandra.types.consistencies.localQuorum;

export class Db {
  constructor(readonly client: cassandra.Client) {}

  async execute(query: string, params: Params = [], options: cassandra.QueryOptions = {}) {
    try {
      return await this.client.execute(query, params, {
        prepare: true,
        consistency: READ,
        ...options,
      });
    } catch (err) {
      throw translate(err);
    }
  }

  /**
   * The statements as one logged batch: Cassandra applies all of them or, once it has taken the
   * batch, eventually all of them, even if this request times out.
   */
  async batch(statements: Statement[]) {
    try {
      return await this.client.batch(statements, {
        prepare: true,
        consistency: READ,
        logged: true,
      });
    } catch (err) {
      throw translate(err);
    }
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

  async ping(timeoutMs: number): Promise<boolean> {
    try {
      await this.client.execute("SELECT release_version FROM system.local", [], {
        prepare: true,
        readTimeout: timeoutMs,
      });
      return true;
    } catch {
      return false;
    }
  }
}

function clientOptions(cfg: Config["cassandra"]): cassandra.ClientOptions {
  return {
    contactPoints: cfg.contactPoints,
    localDataCenter: cfg.localDataCenter,
    credentials:
      cfg.username && cfg.password ? { username: cfg.username, password: cfg.password } : undefined,
    queryOptions: { consistency: READ, prepare: true },
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
export async function connectCassandra(cfg: Config["cassandra"], log: Logger): Promise<Db> {
  const deadline = Date.now() + cfg.connectTimeoutS * 1000;
  for (let attempt = 1; ; attempt++) {
    const client = new cassandra.Client(clientOptions(cfg));
    try {
      await client.connect();
      log.info({ contactPoints: cfg.contactPoints, attempt }, "cassandra connected");
      return new Db(client);
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
