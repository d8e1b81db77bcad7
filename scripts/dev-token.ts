// Prints a development token for a user id: npm run dev-token -- <uuid> [ttl-seconds]
// Refused when NODE_ENV=production; uses the same JWT_* settings as the gateway.
import { randomUUID } from "node:crypto";
import { signDevToken } from "../gateway/auth/dev-token.js";
import { loadConfig } from "../gateway/config.js";
import { uuidSchema } from "../shared/schemas.js";

const [userId = randomUUID(), ttl = "86400"] = process.argv.slice(2);
try {
  if (!uuidSchema.safeParse(userId).success) throw new Error(`not a UUID: ${userId}`);
  const token = signDevToken(loadConfig(), userId, Number(ttl));
  console.log(JSON.stringify({ userId, token }));
} catch (err) {
  console.error(`dev-token: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
