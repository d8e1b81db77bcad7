// Redis pub/sub forgets what is published while a node is cut off from Redis, what it had not yet
// passed on when it went down, and what reaches it before the other nodes have subscribed again.
// So a node remembers its broadcasts of the last moments, keeps those and every later one from
// the moment it loses Redis until things have settled, and sends them again. Clients drop the
// copies they already have by messageId.

/** One broadcast, as a function that emits it again. */
export type Broadcast = () => void;

/** How far back, before Redis was seen to go, broadcasts count as possibly lost. */
const LOST_BEFORE_MS = 2000;

export class OutageBacklog {
  private recent: { at: number; broadcast: Broadcast }[] = [];
  private kept: Broadcast[] = [];
  private keeping = false;
  private overflowed = false;

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
    broadcast();
    if (this.keeping) return this.hold(broadcast);
    const now = Date.now();
    this.forget(now);
    if (this.recent.length < this.capacity) this.recent.push({ at: now, broadcast });
  }

  /** What was kept since the last call; `complete` is false when some did not fit. */
  take(): { broadcasts: Broadcast[]; complete: boolean } {
    const taken = { broadcasts: this.kept, complete: !this.overflowed };
    this.kept = [];
    this.overflowed = false;
    return taken;
  }

  private hold(broadcast: Broadcast) {
    if (this.kept.length < this.capacity) this.kept.push(broadcast);
    else this.overflowed = true;
  }

  private forget(now: number) {
    while (this.recent[0] && this.recent[0].at < now - LOST_BEFORE_MS) this.recent.shift();
  }
}
