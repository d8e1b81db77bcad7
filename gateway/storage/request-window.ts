// Holds Cassandra requests for a short window and releases them together: the driver writes the
// requests it is handed in one turn in one system call per connection, and Cassandra takes them
// in one wake-up. At the same send rate this cost the nodes and Cassandra less CPU and cut the
// tail (docs/performance.md, Levers tried), for up to one window more per round trip.
export class RequestWindow {
  private closing: Promise<void> | null = null;

  constructor(private readonly ms: number) {}

  /** Resolves when the open window closes, opening one if none is. */
  wait(): Promise<void> {
    this.closing ??= new Promise((resolve) =>
      setTimeout(() => {
        this.closing = null;
        resolve();
      }, this.ms),
    );
    return this.closing;
  }
}
