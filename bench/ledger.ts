// Every send and every delivery, checked against each other: a delivery must match a send to a
// socket that should get it, once; an acknowledged send must reach every recipient socket.
import { clock, Samples, Tally } from "./stats.js";

type Pending = {
  sentAt: number;
  senderNode: number;
  /** Sent after the ramp: only these count towards latency. */
  measured: boolean;
  /** Recipient socket index -> its node; removed as deliveries arrive. */
  waiting: Map<number, number>;
  acked: boolean;
  failed: boolean;
};

export class Ledger {
  private readonly sends = new Map<string, Pending>();
  /** clientMsgIds each socket has received, to find duplicates. */
  private readonly received: Set<string>[] = [];
  readonly latency = new Samples();
  /** Send to its ok answer: the stored part of the end-to-end time. */
  readonly ackLatency = new Samples();
  readonly errors = new Tally();
  sent = 0;
  acked = 0;
  delivered = 0;
  duplicated = 0;
  unexpected = 0;

  constructor(sockets: number) {
    for (let i = 0; i < sockets; i++) this.received.push(new Set());
  }

  /** Call before the emit: deliveries can arrive before the acknowledgement. */
  sending(
    clientMsgId: string,
    senderNode: number,
    recipients: Map<number, number>,
    measured: boolean,
  ) {
    this.sent++;
    this.sends.set(clientMsgId, {
      sentAt: clock(),
      senderNode,
      measured,
      waiting: new Map(recipients),
      acked: false,
      failed: false,
    });
  }

  /** `at`: when the answer arrived, on the shared clock (stats.ts). */
  answered(clientMsgId: string, error: string | null, at = clock()) {
    const send = this.sends.get(clientMsgId);
    if (!send) return;
    if (error) {
      send.failed = true;
      this.errors.add(error);
      return;
    }
    send.acked = true;
    this.acked++;
    if (send.measured) this.ackLatency.add(at - send.sentAt);
  }

  /** `at`: when the socket got it, on the shared clock (stats.ts). */
  delivery(socket: number, clientMsgId: string, at = clock()) {
    const seen = this.received[socket];
    if (!seen) return;
    if (seen.has(clientMsgId)) {
      this.duplicated++;
      return;
    }
    seen.add(clientMsgId);
    const send = this.sends.get(clientMsgId);
    const node = send?.waiting.get(socket);
    if (!send || node === undefined) {
      this.unexpected++;
      return;
    }
    send.waiting.delete(socket);
    this.delivered++;
    // End to end means across nodes: the recipient's node is not the sender's.
    if (send.measured && node !== send.senderNode) this.latency.add(at - send.sentAt);
  }

  /** True once every send is answered and every acknowledged send is fully delivered. */
  settled(): boolean {
    for (const s of this.sends.values()) {
      if (!s.acked && !s.failed) return false;
      if (s.acked && s.waiting.size > 0) return false;
    }
    return true;
  }

  /** Recipient sockets an acknowledged send never reached. */
  lost(): number {
    let lost = 0;
    for (const s of this.sends.values()) if (s.acked) lost += s.waiting.size;
    return lost;
  }

  get inflight() {
    return this.sent - this.acked - this.errors.total;
  }
}
