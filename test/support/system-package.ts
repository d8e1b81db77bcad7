// Fault tests run real daemons from Debian's packages; a fresh CI machine installs them here.
import { execFileSync, spawnSync } from "node:child_process";

const installed = new Set<string>();

function onPath(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Makes sure `command` is on PATH, installing Debian's `pkg` with apt-get when it is not. */
export function ensureCommand(command: string, pkg: string) {
  if (installed.has(command) || onPath(command)) {
    installed.add(command);
    return;
  }
  const asRoot = process.getuid?.() === 0;
  const run = (...args: string[]) =>
    execFileSync(asRoot ? "apt-get" : "sudo", asRoot ? args : ["apt-get", ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 300_000,
    });
  run("update", "-q");
  run("install", "-y", "-q", "--no-install-recommends", pkg);
  if (!onPath(command)) throw new Error(`${command} is still missing after installing ${pkg}`);
  installed.add(command);
}
