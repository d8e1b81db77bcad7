// A terminal chat client for trying the gateway by hand:
//   npm run chat -- http://127.0.0.1:3001 <token>
// Lines you type: "/open <userId>" picks a direct conversation, "/group <id,id> [title]" makes a
// group, "/to <conversationId>" switches, "/list", "/history"; anything else is sent.
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { io, type Socket } from "socket.io-client";
import type {
  Answer,
  ClientToServerEvents,
  Message,
  RequestEvent,
  ServerToClientEvents,
} from "../shared/protocol.js";

const [url = "http://127.0.0.1:3000", token = ""] = process.argv.slice(2);
const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
  auth: { token },
  transports: ["websocket"],
});
let current: string | undefined;

const show = (m: Message) => console.log(`[${m.sentAt}] ${m.senderId.slice(0, 8)}: ${m.content}`);

async function call(
  event: RequestEvent,
  payload: object,
): Promise<Answer & Record<string, unknown>> {
  const emit = socket.timeout(10_000).emitWithAck as (e: string, p: object) => Promise<Answer>;
  const answer = await emit.call(socket.timeout(10_000), event, payload);
  if (!answer.ok) console.log(`! ${answer.error.code}: ${answer.error.message}`);
  return answer as Answer & Record<string, unknown>;
}

socket.on("connect", () => console.log(`connected to ${url} as socket ${socket.id}`));
socket.on("connect_error", (err) => console.log(`! connect_error: ${err.message}`));
socket.on("message:new", show);
socket.on("typing", (t) => console.log(`… ${t.userId.slice(0, 8)} typing=${t.typing}`));
socket.on("receipt", (r) => console.log(`✓ ${r.userId.slice(0, 8)} read ${r.messageId}`));
socket.on("conversation:new", (c) => console.log(`+ conversation ${c.conversationId} (${c.kind})`));
socket.on("session:expired", () => console.log("! session expired"));

const commands: Record<string, (arg: string) => Promise<void>> = {
  async open(peerId) {
    const a = await call("conversation:open", { peerId });
    if (a.ok) current = (a.conversation as { conversationId: string }).conversationId;
    console.log(`now in ${current}`);
  },
  async group(arg) {
    const [ids = "", ...title] = arg.split(" ");
    const a = await call("conversation:create", {
      participantIds: ids.split(","),
      ...(title.length ? { title: title.join(" ") } : {}),
    });
    if (a.ok) current = (a.conversation as { conversationId: string }).conversationId;
    console.log(`now in ${current}`);
  },
  async to(id) {
    current = id;
  },
  async list() {
    const a = await call("conversations:list", {});
    if (a.ok) console.log(JSON.stringify(a.conversations, null, 2));
  },
  async history() {
    if (!current) return console.log("! /open or /to a conversation first");
    const a = await call("history:fetch", { conversationId: current, limit: 20 });
    if (a.ok) [...(a.messages as Message[])].reverse().forEach(show);
  },
};

createInterface({ input: process.stdin }).on("line", (line) => {
  const [, name, arg = ""] = /^\/(\w+)\s*(.*)$/.exec(line) ?? [];
  const command = name ? commands[name] : undefined;
  if (name && !command) return console.log(`! unknown command /${name}`);
  if (command) return void command(arg.trim());
  if (!current) return console.log("! /open <userId> or /to <conversationId> first");
  void call("message:send", { conversationId: current, clientMsgId: randomUUID(), content: line });
});
