// A gateway process killed with SIGKILL cannot say its users left: a surviving node sweeps them
// once the dead node's entry is past its TTL, within PRESENCE_TTL_S + PRESENCE_HEARTBEAT_S
// (docs/protocol.md "presence"), and those who reconnected elsewhere meanwhile never flicker.
import { expect } from "chai";
import { io as connect } from "socket.io-client";
import type { PresenceState } from "../../shared/protocol.js";
import { emitRequest, type ProtocolSocket } from "../../shared/request.js";
import { eventually, newUserId, QUIET_MS, sleep } from "../support/cluster.js";
import { startGatewayProcess, tokenFor, type GatewayProcess } from "../support/gateway-process.js";
import { ChildGroup } from "../support/processes.js";

const HEARTBEAT_S = 1;
const TTL_S = 3;
/** The documented bound, and what a loaded machine may add to it (a sweep's round trips). */
const BOUND_MS = (TTL_S + HEARTBEAT_S) * 1000;
const SLACK_MS = 1500;

async function client(node: GatewayProcess, userId: string): Promise<ProtocolSocket> {
  const socket: ProtocolSocket = connect(node.url, {
    auth: { token: tokenFor(userId) },
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}

async function ok<T extends object>(answer: Promise<{ ok: boolean } & object>): Promise<T> {
  const a = await answer;
  if (!a.ok) throw new Error(JSON.stringify(a));
  return a as T;
}

describe("fault: a gateway node is killed with SIGKILL (presence)", function () {
  this.timeout(90_000);
  const children = new ChildGroup();
  const sockets: ProtocolSocket[] = [];
  after(async () => {
    for (const s of sockets) s.disconnect();
    await children.killAll();
  });

  it(`its users go offline at their followers within ${TTL_S} + ${HEARTBEAT_S} s; those who moved stay online`, async () => {
    const env = {
      PRESENCE_HEARTBEAT_S: String(HEARTBEAT_S),
      PRESENCE_TTL_S: String(TTL_S),
      PRESENCE_OFFLINE_GRACE_MS: "200",
      REDIS_CHANNEL_PREFIX: `chat-presence-kill-${process.pid}`,
    };
    const [victim, survivor] = await Promise.all([
      startGatewayProcess("presence-victim", env),
      startGatewayProcess("presence-survivor", env),
    ]);
    children.add(victim.child);
    children.add(survivor.child);
    const [alice, bob, carol] = [newUserId(), newUserId(), newUserId()];
    const [ca, cc, cb] = await Promise.all([
      client(victim, alice),
      client(victim, carol),
      client(survivor, bob),
    ]);
    sockets.push(ca, cc, cb);
    const { conversation } = await ok<{ conversation: { conversationId: string } }>(
      emitRequest(ca, "conversation:create", { participantIds: [bob, carol] }, 10_000),
    );
    const conversationIds = [conversation.conversationId];
    const first = await ok<{ presence: PresenceState[] }>(
      emitRequest(cb, "presence:subscribe", { conversationIds }, 10_000),
    );
    expect(first.presence.every((s) => s.online)).to.equal(true);
    const seen: (PresenceState & { at: number })[] = [];
    cb.on("presence", (s) => seen.push({ ...s, at: Date.now() }));

    const killedAt = Date.now();
    const { signal } = await victim.child.kill("SIGKILL");
    expect(signal).to.equal("SIGKILL");
    // Carol's client reconnects to the survivor at once; alice's does not come back.
    sockets.push(await client(survivor, carol));

    await eventually(() => seen.length > 0, BOUND_MS + SLACK_MS, "alice offline at bob");
    const [off] = seen;
    expect(off).to.include({ userId: alice, online: false });
    expect(off!.at - killedAt).to.be.below(BOUND_MS + SLACK_MS);
    // Last seen at the dead node's last heartbeat, before the kill.
    const lastSeen = Date.parse(off!.lastSeen!);
    expect(lastSeen).to.be.within(killedAt - HEARTBEAT_S * 1000 - 500, killedAt + 100);

    await sleep(HEARTBEAT_S * 1000 + QUIET_MS);
    expect(seen.map((s) => s.userId)).to.deep.equal([alice]);
    const now = await ok<{ presence: PresenceState[] }>(
      emitRequest(cb, "presence:subscribe", { conversationIds }, 10_000),
    );
    expect(Object.fromEntries(now.presence.map((s) => [s.userId, s.online]))).to.deep.equal({
      [alice]: false,
      [carol]: true,
    });
  });
});
