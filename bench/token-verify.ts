// npx tsx bench/token-verify.ts: handshake token checks per second, the gateway's verifier against
// jsonwebtoken given the secret as a string (which it first tries to parse as a public key).
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import jwt from "jsonwebtoken";
import { signDevToken } from "../gateway/auth/dev-token.js";
import { createTokenVerifier } from "../gateway/auth/token-verifier.js";
import { benchConfig } from "./keyspace.js";
import { round } from "./stats.js";

const config = benchConfig("chat_bench");
const tokens = Array.from({ length: 2000 }, () => signDevToken(config, randomUUID()));
const verify = createTokenVerifier(config.jwt);
const variants: [string, (token: string) => unknown][] = [
  [
    "jsonwebtoken, secret as a string",
    (t) => jwt.verify(t, config.jwt.secret, { algorithms: ["HS256"] }),
  ],
  ["gateway verifier (token-verifier.ts)", verify],
];
for (let round_ = 0; round_ < 2; round_++) {
  for (const [name, fn] of variants) {
    const started = performance.now();
    for (const t of tokens) fn(t);
    const perS = tokens.length / ((performance.now() - started) / 1000);
    console.log(`${name.padEnd(40)} ${round(perS, 0)} verifications/s`);
  }
}
