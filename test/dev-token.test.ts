// The development token command: signs for the gateway's settings, refuses production mode.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { expect } from "chai";
import { createTokenVerifier } from "../gateway/auth/token-verifier.js";
import { loadConfig } from "../gateway/config.js";
import { newUserId } from "./support/cluster.js";

const run = promisify(execFile);

async function devToken(args: string[], env: Record<string, string>) {
  return run(process.execPath, ["--import", "tsx", "scripts/dev-token.ts", ...args], {
    env: { ...process.env, ...env },
  }).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: "" }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
}

describe("npm run dev-token", () => {
  it("prints a token the gateway accepts for that user", async () => {
    const userId = newUserId();
    const env = { NODE_ENV: "development", JWT_SECRET: "s3cret-for-this-test" };
    const { code, stdout } = await devToken([userId], env);
    expect(code).to.equal(0);
    const printed = JSON.parse(stdout) as { userId: string; token: string };
    expect(printed.userId).to.equal(userId);
    const verify = createTokenVerifier(loadConfig(env).jwt);
    expect(verify(printed.token).userId).to.equal(userId);
  });

  it("is refused with NODE_ENV=production, printing no token", async () => {
    const result = await devToken([newUserId()], {
      NODE_ENV: "production",
      JWT_SECRET: randomBytes(32).toString("hex"),
    });
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal("");
    expect(result.stderr.trim()).to.equal(
      "dev-token: development tokens are refused when NODE_ENV=production",
    );
  });
});
