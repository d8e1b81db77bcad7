// Child processes of the fault tests: output kept for failure messages, and every one killed at
// the end of its test or, at the latest, when the test process exits.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export class Child {
  private output = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    running.add(proc);
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => {
      proc.once("exit", (code, signal) => {
        running.delete(proc);
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return running.has(this.proc);
  }

  /** The last 20 kB the process wrote, for failure messages. */
  get log(): string {
    return this.output;
  }

  kill(signal: NodeJS.Signals = "SIGKILL") {
    if (this.alive) this.proc.kill(signal);
    return this.exited;
  }
}

export function spawnChild(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions = {},
): Child {
  return new Child(name, spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options }));
}

/** The children of one test, killed together in its `after` hook. */
export class ChildGroup {
  private readonly children: Child[] = [];

  add<T extends Child>(child: T): T {
    this.children.push(child);
    return child;
  }

  async killAll() {
    await Promise.all(this.children.splice(0).map((c) => c.kill("SIGKILL")));
  }
}
