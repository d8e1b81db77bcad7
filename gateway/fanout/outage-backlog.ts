// Redis pub/sub forgets what is published while a node is cut off from Redis, so the node keeps
// what it broadcast meanwhile and sends it again once Redis is back. Clients drop the copies
// they already have by messageId.

/** One broadcast, as a function that emits it again. */
export type Broadcast = () => void;

export class OutageBacklog {
  private kept: Broadcast[] = [];
  private overflowed = false;

  constructor(
    private readonly linkUp: () => boolean,
    private readonly capacity: number,
  ) {}

  /** Emits the broadcast now, and keeps it for a replay when Redis is not connected. */
  send(broadcast: Broadcast) {
    broadcast();
    if (this.linkUp()) return;
    if (this.kept.length < this.capacity) this.kept.push(broadcast);
    else this.overflowed = true;
  }

  /** What was kept since the last call; `complete` is false when some did not fit. */
  take(): { broadcasts: Broadcast[]; complete: boolean } {
    const taken = { broadcasts: this.kept, complete: !this.overflowed };
    this.kept = [];
    this.overflowed = false;
    return taken;
  }
}
