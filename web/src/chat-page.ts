// The signed-in page: connection status, the conversation list, one conversation's messages
// (with edit, delete, reactions and replies) and the send box, driven by the shared client.
import { ChatClient, newClientMsgId, type StatusChange } from "../../shared/client/index.js";
import { MAX_CONTENT_CHARS, MAX_UNREAD } from "../../shared/limits.js";
import type { Conversation, Message, PresenceState, ReplyPreview } from "../../shared/protocol.js";
import { h } from "./dom.js";
import {
  DELETED_TEXT,
  KEYS_HINT_ID,
  messageItem,
  pendingItem,
  quote,
  REACTIONS,
  type Action,
} from "./message-item.js";
import { membersPanel, shownText, systemItem, withUpdate } from "./members-panel.js";
import type { Session } from "./session.js";
import { previewOf, Store, type ConversationState, type Pending } from "./store.js";

const PAGE_SIZE = 50;
const TYPING_SEND_EVERY_MS = 2000;
const TYPING_IDLE_MS = 3000;
const TYPING_SHOW_MS = 6000;
/** What the message box is doing besides sending: answering a message, or editing one of mine. */
type Composing =
  { mode: "reply"; to: ReplyPreview } | { mode: "edit"; messageId: string; draft: string };
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
  let active: ConversationState | undefined;
  let composing: Composing | undefined;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let loadingOlder = false;
  let typingSentAt = 0;
  let typingIdle: ReturnType<typeof setTimeout> | undefined;
  /** The presence of the open conversation's participants (followed one conversation at a time). */
  const presence = new Map<string, PresenceState>();

  // ---- elements
  const status = h("p", { class: "status", role: "status", "data-status": "connecting" });
  const notice = h("p", { class: "error", role: "alert" });
  const info = h("p", { class: "notice", role: "status" });
  const list = h("ul", { class: "conversations", "aria-label": "Conversations" });
  const peer = h("input", { id: "peer", required: true, autocomplete: "off" });
  const members = h("input", { id: "members", required: true, autocomplete: "off" });
  const groupTitle = h("input", { id: "group-title", autocomplete: "off" });
  const title = h("h2", { id: "conversation-title" }, "No conversation open");
  const panel = membersPanel({
    me,
    client,
    nameOf: store.nameOf,
    onChanged: showGroup,
    onLeft: (id) => drop(id, me),
  });
  const typingLine = h("p", { class: "typing", "aria-live": "polite" });
  const presenceList = h("ul", { class: "presence", "aria-label": "Who is online" });
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
  const contextText = h("p", { class: "context-text" });
  const composeContext = h(
    "div",
    { class: "compose-context", hidden: true },
    contextText,
    h("button", { type: "button", onclick: () => cancelComposing(true) }, "Cancel"),
  );
  const keysHint = h(
    "p",
    { id: KEYS_HINT_ID, class: "visually-hidden" },
    "Keys: R reply, E edit, Delete remove, 1 to 6 react, arrows move between messages, " +
      "Escape back to the message box.",
  );

  // The top bar stays on screen in both phone views, so the connection status is always seen.
  const topbar = h(
    "header",
    { class: "topbar" },
    status,
    h(
      "p",
      { class: "me" },
      "Signed in as ",
      session.name && h("strong", {}, session.name, " "),
      h("code", { title: me }, me),
    ),
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
    info,
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
      presenceList,
      panel.button,
    ),
    panel.dialog,
    scroller,
    announcer,
    keysHint,
    typingLine,
    composeContext,
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
    if (!state.put(m)) return;
    state.typing.delete(m.senderId);
    if (m.senderId !== me && !m.deleted && !reading(state)) state.unread++;
    if (!known) void refreshList();
    renderList();
    if (state === active) {
      if (m.system) announcer.textContent = shownText(m, me, store.nameOf);
      else if (m.senderId !== me)
        announcer.textContent = `${store.nameOf(m.senderId)}: ${m.content}`;
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
    seedUnread(store.upsert(c));
    renderList();
  });
  // Members' names may have come with the change (a member added).
  // Members, admin or title changed; names of members added may have come with it.
  client.on("updated", (e) => {
    store.learnNames(e.names);
    const state = store.conversations.get(e.conversationId);
    if (state)
      showGroup(withUpdate(state.conversation, e)); // redraws the list
    else renderList();
    if (state && state === active) renderMessages("keep");
  });
  client.on("edited", (e) => applyChange(e.conversationId, (s) => s.edited(e)));
  client.on("deleted", (e) => {
    applyChange(e.conversationId, (s) => s.deleted(e));
    if (composingOn(e.messageId)) cancelComposing(composing?.mode === "edit");
    // The gateway's count leaves deleted messages out: ask it again rather than guess.
    const state = store.conversations.get(e.conversationId);
    if (state && state.unread > 0 && !reading(state)) refreshSoon();
  });
  client.on("reaction", (e) => applyChange(e.conversationId, (s) => s.reacted(e)));
  client.on("presence", (p) => {
    presence.set(p.userId, p);
    renderPresence();
  });
  // A catch-up re-read a changed message: only held ones are replaced, so no gap opens.
  client.on("changed", (m) =>
    applyChange(m.conversationId, (s) => (s.messages.has(m.messageId) ? s.put(m) : false)),
  );
  client.on("removed", (e) => drop(e.conversationId, e.by));
  // After a reconnection: the list may have changed while we were away.
  client.on("synced", () => void refreshList());
  document.addEventListener("visibilitychange", markRead);
  compose.addEventListener("input", onTyping);
  compose.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      sendCompose();
    } else if (e.key === "Escape" && composing) {
      e.preventDefault();
      cancelComposing(true);
    } else if (e.key === "ArrowUp" && compose.value === "" && !composing) {
      // As in most chat apps: the up arrow in an empty box edits your last message.
      const last = active?.lastEditable();
      if (last) {
        e.preventDefault();
        startEdit(last);
      }
    }
  });
  messages.addEventListener("click", (e) => {
    const target =
      e.target instanceof Element ? e.target.closest<HTMLElement>("[data-action]") : null;
    const m = target && messageOf(target);
    if (target && m) act(target.dataset.action as Action, m, target.dataset.emoji);
  });
  messages.addEventListener("keydown", (e) => {
    const item = e.target instanceof HTMLElement ? e.target : null;
    if (!item?.matches("li[data-message-id]") || e.ctrlKey || e.metaKey || e.altKey) return;
    const m = messageOf(item);
    if (m && onMessageKey(e.key, m, item)) e.preventDefault();
  });
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 80) void loadOlder();
  });

  // The unread state this page kept in localStorage before the gateway counted it.
  localStorage.removeItem(`chat.read.${me}`);
  client.connect().then(refreshList, (err: Error) => {
    notice.textContent = `Could not connect: ${err.message}`;
  });

  // ---- actions
  async function refreshList() {
    try {
      const { conversations } = await client.request("conversations:list", { limit: 50 });
      for (const c of conversations) seedUnread(store.upsert(c));
      renderList();
      if (active) renderMessages("keep"); // read positions may have moved
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

  /** Takes the gateway's count, plus the arrivals it could not count yet; none while reading. */
  function seedUnread(state: ConversationState) {
    const { unreadCount, lastMessage } = state.conversation;
    state.unread = reading(state) ? 0 : unreadCount + state.othersAfter(lastMessage?.messageId);
  }

  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void refreshList(), 500);
  }

  async function open(c: Conversation) {
    notice.textContent = info.textContent = "";
    if (active?.conversation.conversationId !== c.conversationId) {
      cancelComposing(true);
      // Only the conversation on screen is followed: the cost stays with what is shown.
      presence.clear();
      client.followPresence([c.conversationId]).catch(() => undefined);
    }
    active = store.upsert(c);
    active.unread = 0;
    page.dataset.view = "conversation";
    compose.disabled = sendButton.disabled = false;
    title.textContent = nameOf(active);
    panel.show(active.conversation);
    renderList();
    renderMessages("bottom");
    renderTyping();
    renderPresence();
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
      page.messages.forEach((m) => state.put(m));
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
    if (composing?.mode === "edit") return saveEdit(active, composing.messageId, content);
    const replyTo = composing?.mode === "reply" ? composing.to : undefined;
    cancelComposing(false);
    compose.value = "";
    stopTyping();
    send(active, { clientMsgId: newClientMsgId(), content, state: "pending", replyTo });
  }

  function send(state: ConversationState, pending: Pending) {
    state.pending.set(pending.clientMsgId, pending);
    if (state === active) renderMessages("bottom");
    const { conversationId } = state.conversation;
    const { content, clientMsgId } = pending;
    const replyTo = pending.replyTo?.messageId;
    // The acknowledged message arrives as a `message` event, which replaces the pending one.
    client
      .send({ conversationId, content, clientMsgId, ...(replyTo ? { replyTo } : {}) })
      .catch((err: unknown) => {
        pending.state = "failed";
        if (state === active) renderMessages("keep");
        report(err);
      });
  }

  // ---- edit, delete, react, reply
  /** The held message an element of the list belongs to. */
  function messageOf(el: Element): Message | undefined {
    const id = el.closest<HTMLElement>("li[data-message-id]")?.dataset.messageId;
    return id ? active?.messages.get(id) : undefined;
  }

  function act(action: Action, m: Message, emoji?: string) {
    if (action === "quote" && m.replyTo) return focusMessage(m.replyTo.messageId);
    if (m.deleted || m.system) return; // a system message takes no actions
    if (action === "reply") startReply(m);
    else if (action === "edit") startEdit(m);
    else if (action === "delete") remove(m);
    else if (action === "react" && emoji) toggleReaction(m, emoji);
  }

  /** The keys of a focused message; true when the key was one of them. */
  function onMessageKey(key: string, m: Message, item: HTMLElement): boolean {
    const move = (to: Element | null) => {
      if (to instanceof HTMLElement && to.matches("li[data-message-id]")) to.focus();
      else if (key === "ArrowDown") compose.focus();
    };
    const reaction = REACTIONS[Number(key) - 1];
    if (key === "ArrowUp") move(item.previousElementSibling);
    else if (key === "ArrowDown") move(item.nextElementSibling);
    else if (key === "Escape") compose.focus();
    else if (key.toLowerCase() === "r") act("reply", m);
    else if (key.toLowerCase() === "e" && m.senderId === me) act("edit", m);
    else if ((key === "Delete" || key === "Backspace") && m.senderId === me) act("delete", m);
    else if (/^[1-9]$/.test(key) && reaction) act("react", m, reaction);
    else return false;
    return true;
  }

  function focusMessage(messageId: string) {
    messages.querySelector<HTMLElement>(`li[data-message-id="${CSS.escape(messageId)}"]`)?.focus();
  }

  function startReply(m: Message) {
    if (composing?.mode === "edit") cancelComposing(true);
    composing = { mode: "reply", to: previewOf(m) };
    renderComposing();
    compose.focus();
  }

  function startEdit(m: Message) {
    if (m.senderId !== me || m.deleted) return;
    // What was being typed comes back when the edit is saved or cancelled.
    const draft = composing?.mode === "edit" ? composing.draft : compose.value;
    composing = { mode: "edit", messageId: m.messageId, draft };
    compose.value = m.content;
    renderComposing();
    compose.focus();
    compose.setSelectionRange(compose.value.length, compose.value.length);
  }

  /** Leaves reply or edit mode; `restore` puts back the draft an edit set aside. */
  function cancelComposing(restore: boolean) {
    if (composing?.mode === "edit" && restore) compose.value = composing.draft;
    composing = undefined;
    renderComposing();
  }

  const composingOn = (messageId: string) =>
    composing?.mode === "edit"
      ? composing.messageId === messageId
      : composing?.to.messageId === messageId;

  function saveEdit(state: ConversationState, messageId: string, content: string) {
    cancelComposing(true);
    const { conversationId } = state.conversation;
    if (state.messages.get(messageId)?.content === content) return;
    void applyAnswer(client.request("message:edit", { conversationId, messageId, content }));
  }

  function remove(m: Message) {
    if (m.senderId !== me || !confirm("Delete this message for everyone?")) return;
    const { conversationId, messageId } = m;
    if (composingOn(messageId)) cancelComposing(true);
    void applyAnswer(client.request("message:delete", { conversationId, messageId }));
  }

  /** Adds my reaction with `emoji`, or takes it back if I already reacted with it. */
  function toggleReaction(m: Message, emoji: string) {
    const mine = m.reactions?.some((r) => r.emoji === emoji && r.me) ?? false;
    const { conversationId, messageId } = m;
    const event = mine ? "reaction:remove" : "reaction:add";
    void applyAnswer(client.request(event, { conversationId, messageId, emoji }));
  }

  /** The answer to an edit, deletion or reaction is the message as it is now (my view of it). */
  async function applyAnswer(answer: Promise<{ message: Message }>) {
    try {
      const { message } = await answer;
      applyChange(message.conversationId, (s) => s.put(message));
    } catch (err) {
      report(err);
    }
  }

  /** Applies a change to a conversation's messages and redraws what shows it. */
  function applyChange(conversationId: string, apply: (s: ConversationState) => boolean) {
    const state = store.conversations.get(conversationId);
    if (!state) return;
    apply(state);
    renderList(); // the preview follows edits and deletions of the last message
    if (state === active) renderMessages("keep");
  }

  function onTyping() {
    if (!active || composing?.mode === "edit") return;
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
    renderList();
    if (state.readSent === newest.messageId || newest.senderId === me) return;
    state.readSent = newest.messageId;
    const { conversationId, messageId } = newest;
    client.request("message:read", { conversationId, messageId }).catch(() => {
      state.readSent = undefined;
    });
  }

  /** A group's new members, admin or title: in the list, the header and the member list. */
  function showGroup(c: Conversation) {
    if (!store.conversations.has(c.conversationId)) return;
    const before = store.conversations.get(c.conversationId)?.conversation.participantIds;
    const state = store.upsert(c);
    renderList();
    if (state !== active) return;
    title.textContent = nameOf(state);
    panel.show(state.conversation);
    // New members are followed too: the subscription is the members at the time it was made.
    if (before?.join() !== c.participantIds.join()) {
      client.followPresence([c.conversationId]).catch(() => undefined);
      renderPresence();
    }
  }

  /** The user is no longer in the conversation (`by` removed them): forget it, close it if open. */
  function drop(conversationId: string, by: string | undefined) {
    const state = store.conversations.get(conversationId);
    if (!state) return;
    store.conversations.delete(conversationId);
    const name = nameOf(state);
    // `by` is unknown when a catch-up found it.
    info.textContent =
      by === me
        ? `You left ${name}.`
        : by
          ? `You were removed from ${name}.`
          : `You are no longer a member of ${name}.`;
    if (state === active) {
      // Not stopTyping(): the gateway would refuse a typing event for a group we are not in.
      clearTimeout(typingIdle);
      typingSentAt = 0;
      cancelComposing(true);
      active = undefined;
      page.dataset.view = "list";
      title.textContent = "No conversation open";
      compose.disabled = sendButton.disabled = true;
      messages.replaceChildren();
      older.hidden = true;
      panel.show(undefined);
      renderTyping();
    }
    renderList();
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

  /** The user is looking at this conversation, so what arrives in it is read. */
  function reading(state: ConversationState) {
    return state === active && visible();
  }

  // ---- rendering
  function nameOf(state: ConversationState) {
    const c = state.conversation;
    if (c.kind === "group") return c.title ?? `Group of ${c.participantIds.length}`;
    const other = c.participantIds.find((id) => id !== me) ?? me;
    return `Direct with ${store.nameOf(other)}`;
  }

  function renderList() {
    list.replaceChildren(
      ...store.ordered().map((state) => {
        const c = state.conversation;
        const last = state.last();
        const many = state.unread >= MAX_UNREAD;
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
                {
                  class: "unread",
                  "aria-label": many ? `${MAX_UNREAD} or more unread` : `${state.unread} unread`,
                },
                many ? `${MAX_UNREAD}+` : String(state.unread),
              ),
            h(
              "span",
              { class: "preview", "data-deleted": last?.deleted ? "true" : undefined },
              !last
                ? "No messages yet"
                : last.deleted
                  ? DELETED_TEXT
                  : shownText(last, me, store.nameOf),
            ),
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
    const focus = focusedInList();
    messages.replaceChildren(
      ...state
        .sorted()
        .map((m) =>
          m.system
            ? systemItem(m, me, store.nameOf)
            : messageItem(m, me, readLabel(state, m, direct), store.nameOf),
        ),
      ...[...state.pending.values()].map((p) =>
        pendingItem(p, me, store.nameOf, () => send(state, { ...p, state: "pending" })),
      ),
    );
    focus?.();
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

  /**
   * The list is redrawn whole: returns what puts the keyboard focus back on the same message
   * (and the same button of it), so acting from the keyboard survives new messages and events.
   */
  function focusedInList(): (() => void) | undefined {
    const el = document.activeElement;
    if (!(el instanceof HTMLElement) || !messages.contains(el)) return undefined;
    const id = el.closest<HTMLElement>("li[data-message-id]")?.dataset.messageId;
    if (!id) return undefined;
    const { action, emoji } = el.dataset;
    const cls = el.className;
    return () => {
      const li = messages.querySelector<HTMLElement>(`li[data-message-id="${CSS.escape(id)}"]`);
      const same = [...(li?.querySelectorAll<HTMLElement>("[data-action]") ?? [])].find(
        (b) => b.dataset.action === action && b.dataset.emoji === emoji && b.className === cls,
      );
      (same ?? li)?.focus({ preventScroll: true });
    };
  }

  function renderComposing() {
    composeContext.hidden = !composing;
    composeContext.dataset.mode = composing?.mode ?? "";
    sendButton.textContent = composing?.mode === "edit" ? "Save" : "Send";
    if (composing?.mode === "reply") {
      contextText.replaceChildren("Replying to ", quote(composing.to, me, store.nameOf, true));
    } else {
      contextText.replaceChildren(composing ? "Editing your message" : "");
    }
  }

  function renderPresence() {
    const others = active?.conversation.participantIds.filter((id) => id !== me) ?? [];
    presenceList.replaceChildren(
      ...others.map((id) => {
        const p = presence.get(id);
        const seen = p?.lastSeen ? `, last seen ${new Date(p.lastSeen).toLocaleString()}` : "";
        const label = !p ? "unknown" : p.online ? "online" : `offline${seen}`;
        return h(
          "li",
          { "data-user-id": id, "data-online": p ? String(p.online) : undefined, title: label },
          h("span", { class: "dot", "aria-hidden": "true" }),
          h("span", {}, store.nameOf(id)),
          h("span", { class: "visually-hidden" }, `: ${label}`),
        );
      }),
    );
  }

  function renderTyping() {
    const now = Date.now();
    const who = [...(active?.typing ?? [])].filter(([, until]) => until > now).map(([id]) => id);
    typingLine.textContent =
      who.length === 0
        ? ""
        : `${who.map(store.nameOf).join(", ")} ${who.length === 1 ? "is" : "are"} typing…`;
  }

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function visible() {
    return document.visibilityState === "visible";
  }
}
