// Gateway processes behind HAProxy: what every fault test starts, and stops even when it fails.
import { startGatewayProcess, type GatewayProcess } from "./gateway-process.js";
import { startLoadBalancer, type LoadBalancer } from "./load-balancer.js";
import { ChildGroup } from "./processes.js";

export class FaultStack {
  readonly children = new ChildGroup();
  nodes: GatewayProcess[] = [];
  private lb: LoadBalancer | undefined;

  /** `count` nodes with `env` added to their environment, and the load balancer. */
  async start(count: number, env: Record<string, string> = {}): Promise<this> {
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => startGatewayProcess(`fault-node-${i}`, env)),
    );
    for (const s of started) if (s.status === "fulfilled") this.children.add(s.value.child);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    this.nodes = started.map((s) => (s as PromiseFulfilledResult<GatewayProcess>).value);
    this.lb = await startLoadBalancer(this.nodes.map((n) => n.port));
    this.children.add(this.lb.child);
    return this;
  }

  /** The load balancer's address: where clients connect, as in production. */
  get url(): string {
    if (!this.lb) throw new Error("start the stack first");
    return this.lb.url;
  }

  async stop() {
    await this.children.killAll();
    await this.lb?.stop();
  }
}
