import type { IncomingMessage, ServerResponse } from "node:http";
import type { Metrics } from "./metrics.js";

export type Readiness = () => Promise<{ ready: boolean; checks: Record<string, boolean> }>;
/** Takes the requests the fixed endpoints do not, or calls `notFound`. */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse, notFound: () => void) => void;

/** The plain HTTP endpoints; Socket.IO takes its own path before these are reached. */
export function httpRoutes(readiness: Readiness, metrics: Metrics, extra?: ExtraRoutes) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: string, type = "application/json") => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    const path = (req.url ?? "/").split("?")[0];
    const notFound = () => send(404, '{"error":"not found"}');
    const fixed = path === "/healthz" || path === "/readyz" || path === "/metrics";
    if (!fixed) return extra ? extra(req, res, notFound) : notFound();
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, '{"error":"method"}');
    switch (path) {
      case "/healthz":
        return send(200, '{"status":"ok"}');
      case "/readyz":
        return void readiness().then(
          ({ ready, checks }) => send(ready ? 200 : 503, JSON.stringify({ ready, checks })),
          () => send(503, '{"ready":false}'),
        );
      case "/metrics":
        return void metrics.registry
          .metrics()
          .then((text) => send(200, text, metrics.registry.contentType));
    }
  };
}
