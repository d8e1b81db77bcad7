// The signed-in page: connection status, the conversation list, one conversation's messages
// and the send box, all driven by the shared client library.
import { ChatClient, newClientMsgId, type StatusChange } from "../../shared/client/index.js";
import { MAX_CONTENT_CHARS } from "../../shared/limits.js";
import type { Conversation, Message } from "../../shared/protocol.js";
import { h, shortId, timeOf } from "./dom.js";
import { ReadPositions } from "./read-positions.js";
import type { Session } from "./session.js";
import { Store, type ConversationState, type Pending } from "./store.js";

const PAGE_SIZE = 50;
const TYPING_SEND_EVERY_MS = 2000;
const TYPING_IDLE_MS = 3000;
const TYPING_SHOW_MS = 6000;
const STATUS_TEXT: Record<StatusChange["status"], string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

export function chatPage(root: HTMLElement, session: Session, onSignOut: () => void) {
  const me = session.userId;
  const client = new ChatClient({ url: session.gateway, token: session.token });
  const store = new Store(me);
  const reads = new ReadPositions(me);
  let active: ConversationState | undefined;
  let loadingOlder = false;
  let typingSentAt = 0;
  let typingIdle: ReturnType<typeof setTimeout> | undefined;

  // ---- elements
  const status = h("p", { class: "status", role: "status", "data-status": "connecting" });
  const notice = h("p", { class: "error", role: "alert" });
  const list = h("ul", { class: "conversations", "aria-label": "Conversations" });
  const peer = h("input", { id: "peer", required: true, autocomplete: "off" });
  const members = h("input", { id: "members", required: true, autocomplete: "off" });
  const groupTitle = h("input", { id: "group-title", autocomplete: "off" });
  const title = h("h2", { id: "conversation-title" }, "No conversation open");
  const typingLine = h("p", { class: "typing", "aria-live": "polite" });
  const older = h(
    "button",
    { type: "button", class: "older", hidden: true, onclick: () => void loadOlder() },
    "Load older messages",
  );
  const messages = h("ol", { class: "messages", "aria-label": "Messages" });
  // The list is redrawn whole; screen readers hear only new messages, through this region.
  const announcer = h("p", { class: "visually-hidden", "aria-live": "polite" });
  const scroller = h("div", { class: "scroller", tabindex: 0 }, older, messages);
  const compose = h("textarea", {
    id: "compose",
    rows: 1,
    maxlength: MAX_CONTENT_CHARS,
    placeholder: "Write a message",
    disabled: true,
  });
  const sendButton = h("button", { type: "submit", disabled: true }, "Send");

  // The top bar stays on screen in both phone views, so the connection status is always seen.
  const topbar = h(
    "header",
    { class: "topbar" },
    status,
    h("p", { class: "me" }, "Signed in as ", h("code", { title: me }, me)),
    h("button", { type: "button", onclick: () => signOut() }, "Sign out"),
  );
  const sidebar = h(
    "nav",
    { class: "sidebar", "aria-label": "Conversations and new conversation" },
    h(
      "form",
      { class: "new", onsubmit: (e) => void openDirect(e) },
      h("label", { for: "peer" }, "Start a direct conversation with user id"),
      peer,
      h("button", { type: "submit" }, "Open"),
    ),
    h(
      "form",
      { class: "new", onsubmit: (e) => void createGroup(e) },
      h("label", { for: "members" }, "New group: user ids, comma-separated"),
      members,
      h("label", { for: "group-title" }, "Group title (optional)"),
      groupTitle,
      h("button", { type: "submit" }, "Create group"),
    ),
    notice,
    list,
  );
  const main = h(
    "section",
    { class: "conversation", "aria-labelledby": "conversation-title" },
    h(
      "header",
      {},
      h("button", { type: "button", class: "back", onclick: () => showList() }, "← Back"),
      title,
    ),
    scroller,
    announcer,
    typingLine,
    h(
      "form",
      { class: "compose", onsubmit: (e) => (e.preventDefault(), sendCompose()) },
      h("label", { for: "compose", class: "visually-hidden" }, "Message"),
      compose,
      sendButton,
    ),
  );
  const page = h("div", { class: "chat", "data-view": "list" }, topbar, sidebar, main);
  root.replaceChildren(page);

  // ---- client events
  client.on("status", (s) => {
    status.dataset.status = s.status;
    status.textContent =
      s.reason && s.status !== "connected"
        ? `${STATUS_TEXT[s.status]} (${s.reason})`
        : STATUS_TEXT[s.status];
  });
  client.on("message", (m) => {
    const known = store.conversations.has(m.conversationId);
    const state = store.forMessage(m);
    if (!state.add(m)) return;
    state.typing.delete(m.senderId);
    if (m.senderId !== me && !(state === active && visible())) state.unread++;
    if (!known) void refreshList();
    renderList();
    if (state === active) {
      if (m.senderId !== me) announcer.textContent = `${shortId(m.senderId)}: ${m.content}`;
      renderTyping();
      renderMessages(m.senderId === me || nearBottom() ? "bottom" : "keep");
      markRead();
    }
  });
  client.on("receipt", (r) => {
    store.conversations.get(r.conversationId)?.read(r.userId, r.messageId);
    if (active?.conversation.conversationId === r.conversationId) renderMessages("keep");
  });
  client.on("typing", (t) => {
    const state = store.conversations.get(t.conversationId);
    if (!state || t.userId === me) return;
    if (t.typing) state.typing.set(t.userId, Date.now() + TYPING_SHOW_MS);
    else state.typing.delete(t.userId);
    renderTyping();
    setTimeout(renderTyping, TYPING_SHOW_MS + 50);
  });
  client.on("conversation", (c) => {
    store.upsert(c);
    renderList();
  });
  // After a reconnection: the list may have changed while we were away.
  client.on("synced", () => void refreshList());
  document.addEventListener("visibilitychange", markRead);
  compose.addEventListener("input", onTyping);
  compose.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      sendCompose();
    }
  });
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 80) void loadOlder();
  });

  client.connect().then(refreshList, (err: Error) => {
    notice.textContent = `Could not connect: ${err.message}`;
  });

  // ---- actions
  async function refreshList() {
    try {
      const { conversations } = await client.request("conversations:list", { limit: 50 });
      for (const c of conversations) {
        const state = store.upsert(c);
        const last = c.lastMessage;
        if (state.unread === 0 && last && last.senderId !== me && state !== active) {
          if (reads.isUnread(c.conversationId, last.messageId)) state.unread = 1;
        }
      }
      renderList();
    } catch (err) {
      report(err);
    }
  }

  async function openDirect(e: Event) {
    e.preventDefault();
    try {
      const { conversation } = await client.request("conversation:open", {
        peerId: peer.value.trim(),
      });
      peer.value = "";
      void open(conversation);
    } catch (err) {
      report(err);
    }
  }

  async function createGroup(e: Event) {
    e.preventDefault();
    try {
      const participantIds = members.value.split(/[\s,]+/).filter(Boolean);
      const t = groupTitle.value.trim();
      const { conversation } = await client.request("conversation:create", {
        participantIds,
        ...(t ? { title: t } : {}),
      });
      members.value = groupTitle.value = "";
      void open(conversation);
    } catch (err) {
      report(err);
    }
  }

  async function open(c: Conversation) {
    notice.textContent = "";
    active = store.upsert(c);
    active.unread = 0;
    page.dataset.view = "conversation";
    compose.disabled = sendButton.disabled = false;
    title.textContent = nameOf(active);
    renderList();
    renderMessages("bottom");
    renderTyping();
    if (active.historyCursor === undefined) await loadOlder();
    markRead();
    compose.focus();
  }

  /** Loads the next older page of the open conversation, keeping what is on screen in place. */
  async function loadOlder() {
    const state = active;
    if (!state || state.historyCursor === null || loadingOlder) return;
    loadingOlder = true;
    const first = state.historyCursor === undefined;
    try {
      const cursor = state.historyCursor;
      const page = await client.request("history:fetch", {
        conversationId: state.conversation.conversationId,
        limit: PAGE_SIZE,
        ...(cursor ? { cursor } : {}),
      });
      page.messages.forEach((m) => state.add(m));
      state.historyCursor = page.nextCursor;
      if (state === active) renderMessages(first ? "bottom" : "prepend");
    } catch (err) {
      report(err);
    } finally {
      loadingOlder = false;
    }
  }

  function sendCompose() {
    const content = compose.value.trim();
    if (!active || !content) return;
    compose.value = "";
    stopTyping();
    send(active, { clientMsgId: newClientMsgId(), content, state: "pending" });
  }

  function send(state: ConversationState, pending: Pending) {
    state.pending.set(pending.clientMsgId, pending);
    if (state === active) renderMessages("bottom");
    const { conversationId } = state.conversation;
    // The acknowledged message arrives as a `message` event, which replaces the pending one.
    client
      .send({ conversationId, content: pending.content, clientMsgId: pending.clientMsgId })
      .catch((err: unknown) => {
        pending.state = "failed";
        if (state === active) renderMessages("keep");
        report(err);
      });
  }

  function onTyping() {
    if (!active) return;
    const conversationId = active.conversation.conversationId;
    if (Date.now() - typingSentAt > TYPING_SEND_EVERY_MS) {
      typingSentAt = Date.now();
      client.request("typing", { conversationId, typing: true }).catch(() => undefined);
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    if (!active || typingSentAt === 0) return;
    typingSentAt = 0;
    const conversationId = active.conversation.conversationId;
    client.request("typing", { conversationId, typing: false }).catch(() => undefined);
  }

  /** Tells the gateway (and so the others) that the newest message was seen. */
  function markRead() {
    const state = active;
    const newest = state?.newest();
    if (!state || !newest || !visible()) return;
    state.unread = 0;
    reads.markRead(newest.conversationId, newest.messageId);
    renderList();
    if (state.readSent === newest.messageId || newest.senderId === me) return;
    state.readSent = newest.messageId;
    const { conversationId, messageId } = newest;
    client.request("message:read", { conversationId, messageId }).catch(() => {
      state.readSent = undefined;
    });
  }

  /** Phones only: back to the list, where new messages count as unread again. */
  function showList() {
    page.dataset.view = "list";
    active = undefined;
    renderList();
  }

  function signOut() {
    client.close();
    document.removeEventListener("visibilitychange", markRead);
    onSignOut();
  }

  function report(err: unknown) {
    notice.textContent = err instanceof Error ? err.message : String(err);
  }

  // ---- rendering
  function nameOf(state: ConversationState) {
    const c = state.conversation;
    if (c.kind === "group") return c.title ?? `Group of ${c.participantIds.length}`;
    const other = c.participantIds.find((id) => id !== me) ?? me;
    return `Direct with ${shortId(other)}`;
  }

  function renderList() {
    list.replaceChildren(
      ...store.ordered().map((state) => {
        const c = state.conversation;
        const last = state.newest() ?? c.lastMessage;
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              "data-conversation-id": c.conversationId,
              "aria-current": state === active ? "true" : undefined,
              onclick: () => void open(state.conversation),
            },
            h("span", { class: "name" }, nameOf(state)),
            state.unread > 0 &&
              h(
                "span",
                { class: "unread", "aria-label": `${state.unread} unread` },
                String(state.unread),
              ),
            h("span", { class: "preview" }, last ? last.content : "No messages yet"),
          ),
        );
      }),
    );
  }

  function renderMessages(scroll: "bottom" | "keep" | "prepend") {
    const state = active;
    if (!state) return;
    const { scrollHeight, scrollTop } = scroller;
    const direct = state.conversation.kind === "direct";
    messages.replaceChildren(
      ...state.sorted().map((m) => messageItem(m, readLabel(state, m, direct))),
      ...[...state.pending.values()].map((p) => pendingItem(state, p)),
    );
    older.hidden = state.historyCursor === null;
    if (scroll === "bottom") scroller.scrollTop = scroller.scrollHeight;
    else if (scroll === "prepend")
      scroller.scrollTop = scrollTop + scroller.scrollHeight - scrollHeight;
  }

  function readLabel(state: ConversationState, m: Message, direct: boolean) {
    if (m.senderId !== me) return undefined;
    const readers = state.readersOf(m);
    if (readers === 0) return "sent";
    return direct ? "read" : `read by ${readers}`;
  }

  function messageItem(m: Message, state: string | undefined) {
    const mine = m.senderId === me;
    return h(
      "li",
      {
        class: mine ? "message mine" : "message",
        "data-message-id": m.messageId,
        "data-state": state,
      },
      h("span", { class: "sender" }, mine ? "You" : shortId(m.senderId)),
      h("p", { class: "content" }, m.content),
      h(
        "span",
        { class: "meta" },
        h("time", { datetime: m.sentAt }, timeOf(m.sentAt)),
        state &&
          h("span", { class: "state" }, state === "sent" ? "Sent" : state.replace("read", "Read")),
      ),
    );
  }

  function pendingItem(state: ConversationState, p: Pending) {
    const failed = p.state === "failed";
    return h(
      "li",
      { class: "message mine", "data-client-msg-id": p.clientMsgId, "data-state": p.state },
      h("span", { class: "sender" }, "You"),
      h("p", { class: "content" }, p.content),
      h(
        "span",
        { class: "meta" },
        h("span", { class: "state" }, failed ? "Not sent" : "Sending…"),
        failed &&
          h(
            "button",
            { type: "button", onclick: () => send(state, { ...p, state: "pending" }) },
            "Retry",
          ),
      ),
    );
  }

  function renderTyping() {
    const now = Date.now();
    const who = [...(active?.typing ?? [])].filter(([, until]) => until > now).map(([id]) => id);
    typingLine.textContent =
      who.length === 0
        ? ""
        : `${who.map(shortId).join(", ")} ${who.length === 1 ? "is" : "are"} typing…`;
  }

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function visible() {
    return document.visibilityState === "visible";
  }
}
