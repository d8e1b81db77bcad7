// A terminal chat client for trying the gateway by hand:
//   npm run chat -- http://127.0.0.1:3001 <token>
// Lines you type: "/open <userId>" picks a direct conversation, "/group <id,id> [title]" makes a
// group, "/to <conversationId>" switches, "/list", "/history"; anything else is sent.
import { createInterface } from "node:readline";
import { ChatClient, RequestError } from "../shared/client/index.js";
import type { Message } from "../shared/protocol.js";

const [url = "http://127.0.0.1:3000", token = ""] = process.argv.slice(2);
const client = new ChatClient({ url, token, socket: { transports: ["websocket"] } });
let current: string | undefined;

const show = (m: Message) => console.log(`[${m.sentAt}] ${m.senderId.slice(0, 8)}: ${m.content}`);

client.on("status", ({ status, reason }) =>
  console.log(`~ ${status}${reason ? `: ${reason}` : ""}`),
);
client.on("message", show);
client.on("typing", (t) => console.log(`… ${t.userId.slice(0, 8)} typing=${t.typing}`));
client.on("receipt", (r) => console.log(`✓ ${r.userId.slice(0, 8)} read ${r.messageId}`));
client.on("conversation", (c) => console.log(`+ conversation ${c.conversationId} (${c.kind})`));

const commands: Record<string, (arg: string) => Promise<void>> = {
  async open(peerId) {
    ({ conversationId: current } = (
      await client.request("conversation:open", { peerId })
    ).conversation);
    console.log(`now in ${current}`);
  },
  async group(arg) {
    const [ids = "", ...title] = arg.split(" ");
    const { conversation } = await client.request("conversation:create", {
      participantIds: ids.split(","),
      ...(title.length ? { title: title.join(" ") } : {}),
    });
    current = conversation.conversationId;
    console.log(`now in ${current}`);
  },
  async to(id) {
    current = id;
  },
  async list() {
    const { conversations } = await client.request("conversations:list", {});
    console.log(JSON.stringify(conversations, null, 2));
  },
  async history() {
    if (!current) return console.log("! /open or /to a conversation first");
    const { messages } = await client.request("history:fetch", {
      conversationId: current,
      limit: 20,
    });
    [...messages].reverse().forEach(show);
  },
};

const report = (err: unknown) =>
  console.log(err instanceof RequestError ? `! ${err.code}: ${err.message}` : `! ${String(err)}`);

createInterface({ input: process.stdin }).on("line", (line) => {
  const [, name, arg = ""] = /^\/(\w+)\s*(.*)$/.exec(line) ?? [];
  const command = name ? commands[name] : undefined;
  if (name && !command) return console.log(`! unknown command /${name}`);
  if (command) return void command(arg.trim()).catch(report);
  if (!current) return console.log("! /open <userId> or /to <conversationId> first");
  // Sent messages come back through the client's "message" event once stored.
  void client.send({ conversationId: current, content: line }).catch(report);
});

client.connect().catch(report);
