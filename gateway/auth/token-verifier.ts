// Verifies access tokens: pinned algorithms, required `exp`, `sub` a UUID, optional iss/aud,
// and reads the optional display name.
import { createPublicKey, createSecretKey } from "node:crypto";
import jwt from "jsonwebtoken";
import { displayNameSchema, uuidSchema } from "../../shared/schemas.js";
import type { Config } from "../config.js";
import { AuthRefusal } from "../errors.js";

export type Identity = {
  userId: string;
  expiresAt: number;
  /** The `name` claim, trimmed; absent when missing or not a valid name. */
  name?: string;
  /** When the token was issued (`iat`, in ms), if it says. */
  issuedAt?: number;
};

/** The token's display name; an unusable one is ignored: it is no reason to refuse the user. */
function nameOf(claim: unknown): string | undefined {
  const parsed = displayNameSchema.safeParse(claim);
  return parsed.success ? parsed.data : undefined;
}

function pinnedAlgorithms(publicKey: string | undefined): jwt.Algorithm[] {
  if (!publicKey) return ["HS256"];
  // Pinned to the key's own type, so an HS256 token signed with the public key text is refused.
  const type = createPublicKey(publicKey).asymmetricKeyType;
  if (type === "rsa") return ["RS256"];
  if (type === "ec") return ["ES256"];
  throw new Error(`JWT_PUBLIC_KEY: unsupported key type ${type}`);
}

export function createTokenVerifier(cfg: Config["jwt"]): (token: string) => Identity {
  const algorithms = pinnedAlgorithms(cfg.publicKey);
  // A key object built once: given text, jsonwebtoken parses it on every verification, first
  // trying it as a public key (bench/token-verify.ts measures the difference).
  const key = cfg.publicKey
    ? createPublicKey(cfg.publicKey)
    : createSecretKey(Buffer.from(cfg.secret));
  const options: jwt.VerifyOptions = {
    algorithms,
    clockTolerance: cfg.clockToleranceS,
    ...(cfg.issuer ? { issuer: cfg.issuer } : {}),
    ...(cfg.audience ? { audience: cfg.audience } : {}),
  };
  return (token) => {
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) throw new AuthRefusal("malformed");
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key, options);
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) throw new AuthRefusal("expired");
      if (
        err instanceof jwt.JsonWebTokenError &&
        /malformed|invalid token|Unexpected token/.test(err.message)
      ) {
        throw new AuthRefusal("malformed");
      }
      throw new AuthRefusal("invalid");
    }
    if (typeof payload === "string" || typeof payload.exp !== "number") {
      throw new AuthRefusal("invalid");
    }
    if (!uuidSchema.safeParse(payload.sub).success) throw new AuthRefusal("invalid");
    const name = nameOf(payload.name);
    return {
      userId: (payload.sub as string).toLowerCase(),
      expiresAt: payload.exp * 1000,
      ...(name ? { name } : {}),
      ...(typeof payload.iat === "number" ? { issuedAt: payload.iat * 1000 } : {}),
    };
  };
}
