import jwt from "jsonwebtoken";
import type { Config } from "../config.js";

/**
 * A token for local development and tests, with the display name `name` when given; never issued
 * by a gateway in production mode.
 */
export function signDevToken(
  config: Pick<Config, "env" | "jwt">,
  userId: string,
  ttlSeconds = 3600,
  name?: string,
): string {
  if (config.env === "production") {
    throw new Error("development tokens are refused when NODE_ENV=production");
  }
  if (config.jwt.publicKey) {
    throw new Error(
      "development tokens need JWT_SECRET (HS256); this gateway verifies with a public key",
    );
  }
  return jwt.sign(name ? { name } : {}, config.jwt.secret, {
    algorithm: "HS256",
    subject: userId,
    expiresIn: ttlSeconds,
    ...(config.jwt.issuer ? { issuer: config.jwt.issuer } : {}),
    ...(config.jwt.audience ? { audience: config.jwt.audience } : {}),
  });
}
