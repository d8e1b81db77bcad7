/**
 * The message ids a client has already passed on, so a message delivered twice (live and again
 * by a catch-up, or by a retried send) is shown once. Bounded: the oldest ids are forgotten
 * first, long after any duplicate of them could still arrive.
 */
export class SeenIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 10_000) {}

  /** Records `id`; true when it is new. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return true;
  }
}
