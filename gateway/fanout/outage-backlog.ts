// Redis pub/sub forgets what is published while a node is cut off from Redis, what it had not yet
// passed on when it went down, and what reaches it before the other nodes have subscribed again.
// So a node remembers its broadcasts of the last moments, keeps those and every later one from
// the moment it loses Redis until things have settled, and sends them again. Clients drop the
// copies they already have by messageId. What does not fit is not kept: its recipients are
// remembered instead, so they can be told to catch up from storage.

/** One broadcast: its recipients, and a function that emits it again. */
export type Broadcast = { userIds: readonly string[]; emit: () => void };

/** Recipients of dropped broadcasts remembered one by one; past this many, everyone is told. */
const LOST_USERS_CAPACITY = 100_000;

/** Who missed a broadcast that was dropped: nobody, these users, or (too many to list) everyone. */
export type Lost = ReadonlySet<string> | "everyone";

/** How far back, before Redis was seen to go, broadcasts count as possibly lost. */
const LOST_BEFORE_MS = 2000;

export class OutageBacklog {
  private recent: { at: number; broadcast: Broadcast }[] = [];
  private kept: Broadcast[] = [];
  private keeping = false;
  private lost: Set<string> | "everyone" = new Set();

  constructor(private readonly capacity: number) {}

  /** Redis was lost: keep the last moments' broadcasts and every one from now until `settle`. */
  keep() {
    if (this.keeping) return;
    this.keeping = true;
    this.forget(Date.now());
    this.recent.forEach(({ broadcast }) => this.hold(broadcast));
    this.recent = [];
  }

  settle() {
    this.keeping = false;
  }

  /** Emits the broadcast now, and remembers it for a possible replay. */
  send(broadcast: Broadcast) {
    broadcast.emit();
    if (this.keeping) return this.hold(broadcast);
    const now = Date.now();
    this.forget(now);
    if (this.recent.length < this.capacity) this.recent.push({ at: now, broadcast });
  }

  /** What was kept since the last call, and who missed what did not fit. */
  take(): { broadcasts: Broadcast[]; lost: Lost } {
    const taken = { broadcasts: this.kept, lost: this.lost };
    this.kept = [];
    this.lost = new Set();
    return taken;
  }

  private hold(broadcast: Broadcast) {
    if (this.kept.length < this.capacity) return void this.kept.push(broadcast);
    if (this.lost === "everyone") return;
    for (const userId of broadcast.userIds) this.lost.add(userId);
    if (this.lost.size > LOST_USERS_CAPACITY) this.lost = "everyone";
  }

  private forget(now: number) {
    while (this.recent[0] && this.recent[0].at < now - LOST_BEFORE_MS) this.recent.shift();
  }
}

/** Both sets of lost recipients together. */
export function mergeLost(a: Lost, b: Lost): Lost {
  if (a === "everyone" || b === "everyone") return "everyone";
  return new Set([...a, ...b]);
}
