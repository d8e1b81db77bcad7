// A TCP relay between the gateways and the shared Cassandra (or a test's Redis). Cutting it is,
// from the gateways' point of view, that server going away (live connections drop, new ones are
// refused) without stopping the one Cassandra node every test run shares, or for some nodes only.
import { connect, createServer, type Server, type Socket } from "node:net";

export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private cut = false;
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<this> {
    const server = createServer((client) => {
      if (this.cut) return client.resetAndDestroy();
      const upstream = connect(this.targetPort, this.targetHost);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this;
  }

  get connections(): number {
    return this.pairs.size;
  }

  /** Resets every live connection and refuses new ones until `restore`. */
  interrupt() {
    this.cut = true;
    for (const [client, upstream] of this.pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  restore() {
    this.cut = false;
  }

  async stop() {
    this.interrupt();
    await new Promise((resolve) => this.server?.close(resolve) ?? resolve(undefined));
  }
}
