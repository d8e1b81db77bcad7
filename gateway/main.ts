// The process entry point: configuration, one node, signals. Errors at startup end in one line.
import { loadConfig } from "./config.js";
import { StartupError } from "./errors.js";
import { createLogger } from "./logger.js";
import { startGateway } from "./node.js";

async function main() {
  const config = loadConfig();
  const log = createLogger(config.logLevel, config.nodeId);
  process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection"));
  const node = await startGateway(config, { logger: log, defaultMetrics: true });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    // stop() bounds each of its two waits by the timeout; this catches anything that hangs.
    setTimeout(
      () => {
        log.error("shutdown did not finish in time");
        process.exit(1);
      },
      2 * config.shutdownTimeoutS * 1000 + 5000,
    ).unref();
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  const known = err instanceof StartupError;
  console.error(known ? `gateway: ${err.message}` : err);
  process.exit(1);
});
