// Development mode only (never attached when NODE_ENV=production): the built web app at / and
// the endpoint its development login page uses to get a token.
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { resolve } from "node:path";
import sirv from "sirv";
import { z } from "zod";
import { MAX_NAME_CHARS } from "../../shared/limits.js";
import { displayNameSchema } from "../../shared/schemas.js";
import { signDevToken } from "../auth/dev-token.js";
import type { Config } from "../config.js";
import type { ExtraRoutes } from "./routes.js";

const MAX_BODY_BYTES = 1024;
/** Lifetimes a development token may ask for: short ones exercise `auth:refresh`. */
export const DEV_TOKEN_TTL_S = { min: 5, max: 86_400, default: 3600 } as const;
const TokenRequest = z.strictObject({
  userId: z.uuid().optional(),
  ttlSeconds: z.number().int().min(DEV_TOKEN_TTL_S.min).max(DEV_TOKEN_TTL_S.max).optional(),
  name: displayNameSchema.optional(),
});

export function devRoutes(config: Config): ExtraRoutes {
  const root = resolve(config.webRoot);
  // sirv lists the files once at start, so a missing build is reported instead of served.
  const files = existsSync(root) ? sirv(root, { etag: true }) : undefined;
  return (req, res, notFound) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/dev/token") return void mintToken(config, req, res);
    if (files) return files(req, res, notFound);
    if (path !== "/") return notFound();
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end(`The web app is not built (no ${root}): run npm run build:web\n`);
  };
}

/**
 * POST /dev/token {"userId"?: uuid, "ttlSeconds"?: 5-86400, "name"?: string} → {"userId", "token"}:
 * a new user when none is given, a token of an hour unless asked otherwise, with the display
 * name when given.
 */
async function mintToken(config: Config, req: IncomingMessage, res: ServerResponse) {
  const answer = (status: number, body: object) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };
  if (req.method !== "POST") return answer(405, { error: "method" });
  const body = await readBody(req);
  if (body === undefined) return answer(413, { error: "body too large" });
  let json: unknown;
  try {
    json = body === "" ? {} : JSON.parse(body);
  } catch {
    return answer(400, { error: "body is not JSON" });
  }
  const parsed = TokenRequest.safeParse(json);
  if (!parsed.success) {
    const { min, max } = DEV_TOKEN_TTL_S;
    return answer(400, {
      error:
        `userId must be a UUID, ttlSeconds an integer ${min}-${max}, ` +
        `name 1-${MAX_NAME_CHARS} characters without control characters`,
    });
  }
  const userId = parsed.data.userId ?? randomUUID();
  const ttlSeconds = parsed.data.ttlSeconds ?? DEV_TOKEN_TTL_S.default;
  try {
    const { name } = parsed.data;
    answer(200, { userId, token: signDevToken(config, userId, ttlSeconds, name) });
  } catch (err) {
    answer(409, { error: err instanceof Error ? err.message : "no development tokens here" });
  }
}

/** The request body as text, or undefined when it is over MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
