// Lets shutdown wait for the requests a node is answering, and refuse new ones meanwhile.
export class RequestGate {
  private running = 0;
  private closed = false;
  private onIdle: (() => void) | undefined;

  /** False once closing: the request must be refused. Otherwise call `leave` after answering. */
  enter(): boolean {
    if (this.closed) return false;
    this.running++;
    return true;
  }

  leave() {
    this.running--;
    if (this.running === 0) this.onIdle?.();
  }

  /** Refuses new requests; resolves true once running ones are answered, false at the timeout. */
  close(timeoutMs: number): Promise<boolean> {
    this.closed = true;
    if (this.running === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.onIdle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}
