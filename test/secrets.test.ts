// No known secret in production: the repository's JWT secrets are all listed, and a production
// node refuses them (and any short one) with one line.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { loadConfig } from "../gateway/config.js";
import { ConfigError } from "../gateway/errors.js";
import { KNOWN_SECRETS } from "../gateway/known-secrets.js";
import { freePort } from "./support/ports.js";

const root = new URL("..", import.meta.url);

/** JWT_SECRET values written as literals: `JWT_SECRET: "x"`, `JWT_SECRET=x`, `${JWT_SECRET:-x}`. */
function secretLiterals(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\$\{JWT_SECRET:?[-?]([^}]*)\}/g)) {
    if (m[0].includes(":-") || m[0].startsWith("${JWT_SECRET-")) found.push(m[1]!);
  }
  for (const m of text.matchAll(/JWT_SECRET["']?\s*[:=]\s*(["'`])([^"'`]+)\1/g)) found.push(m[2]!);
  for (const m of text.matchAll(/JWT_SECRET=([^\s"'`$;)]+)/g)) found.push(m[1]!);
  return found;
}

describe("known secrets", () => {
  it("lists every JWT_SECRET literal of the repository's tracked files", function () {
    let files: string[];
    try {
      files = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" })
        .split("\0")
        .filter((f) => f && !f.endsWith("package-lock.json") && !/\.(png|ico|jar)$/.test(f))
        // This file holds examples of the literal forms, not secrets.
        .filter((f) => f !== "test/secrets.test.ts");
    } catch {
      return this.skip(); // not a git checkout (e.g. an unpacked archive)
    }
    expect(files.length).to.be.above(50);
    const unlisted = files.flatMap((file) => {
      let text: string;
      try {
        text = readFileSync(new URL(file, root), "utf8");
      } catch {
        return []; // listed but deleted in the working tree
      }
      return secretLiterals(text)
        .filter((secret) => !KNOWN_SECRETS.includes(secret))
        .map((secret) => `${file}: ${secret}`);
    });
    expect(unlisted, "add these to gateway/known-secrets.ts").to.deep.equal([]);
  });

  it("finds the literal forms it claims to", () => {
    expect(
      secretLiterals(
        "a: ${JWT_SECRET:-one}\nJWT_SECRET: \"two\"\nJWT_SECRET=three npm start\n{ JWT_SECRET: 'four' }",
      ),
    ).to.have.members(["one", "two", "three", "four"]);
    expect(
      secretLiterals("JWT_SECRET=$(openssl rand -hex 32)\nJWT_SECRET: ${JWT_SECRET:?x}"),
    ).to.deep.equal([]);
  });

  describe("in production", () => {
    const production = (secret: string) => () =>
      loadConfig({ NODE_ENV: "production", JWT_SECRET: secret });

    it("refuses every known secret, whatever its length", () => {
      for (const secret of KNOWN_SECRETS) {
        expect(production(secret), secret).to.throw(
          ConfigError,
          "JWT_SECRET: is published in this repository",
        );
      }
    });

    it("refuses a secret under 32 bytes", () => {
      const short = randomBytes(31).toString("base64").slice(0, 31);
      expect(production(short)).to.throw(
        ConfigError,
        "invalid configuration: JWT_SECRET: is 31 bytes; production needs at least 32",
      );
    });

    it("accepts a random secret of 32 bytes", () => {
      const secret = randomBytes(16).toString("hex");
      expect(production(secret)().jwt.secret).to.equal(secret);
    });

    it("leaves development and test free to use the known ones", () => {
      expect(loadConfig({ NODE_ENV: "development" }).jwt.secret).to.be.oneOf(KNOWN_SECRETS);
      expect(loadConfig({ NODE_ENV: "test", JWT_SECRET: "change-me" }).jwt.secret).to.equal(
        "change-me",
      );
    });

    it("the process exits 1 with one line and never listens", async function () {
      this.timeout(30_000);
      const port = await freePort();
      const child = spawn(process.execPath, ["--import", "tsx", "gateway/main.ts"], {
        env: {
          ...process.env,
          NODE_ENV: "production",
          JWT_SECRET: "change-me",
          HOST: "127.0.0.1",
          PORT: String(port),
          LOG_LEVEL: "silent",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      expect(code).to.equal(1);
      const lines = stderr
        .trim()
        .split("\n")
        .filter((l) => !l.includes("npm warn"));
      expect(lines).to.deep.equal([
        "gateway: invalid configuration: JWT_SECRET: is published in this repository; set a random one (openssl rand -hex 32)",
      ]);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      expect(res).to.equal(undefined);
    });
  });
});
