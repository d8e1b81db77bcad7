// Group membership on screen: the member list (a dialog opened from the conversation header)
// where the admin adds, removes and renames and anyone leaves, and the system messages that
// record those changes in the history.
import type { ChatClient } from "../../shared/client/index.js";
import type { Conversation, ConversationUpdatedEvent, Message } from "../../shared/protocol.js";
import { h, timeOf } from "./dom.js";
import { senderName, systemText, type NameOf } from "./message-item.js";

/**
 * A message's text as shown: a system message told from the viewer's side, with names; any
 * other message's (or a listed summary's, which carries no `system`) `content`.
 */
export const shownText = (
  m: Pick<Message, "senderId" | "content" | "system">,
  me: string,
  nameOf: NameOf,
): string => (m.system ? systemText(m.system, m.senderId, me, nameOf) : m.content);

/**
 * A system message: a centered, muted line without actions (it cannot be edited or deleted),
 * still focusable so the arrow keys move through it like any message.
 */
export function systemItem(m: Message, me: string, nameOf: NameOf) {
  return h(
    "li",
    {
      class: "system",
      tabindex: 0,
      "data-message-id": m.messageId,
      "data-system": m.system?.action,
    },
    h("span", { class: "system-text" }, shownText(m, me, nameOf)),
    " ",
    h("time", { datetime: m.sentAt }, timeOf(m.sentAt)),
  );
}

/** The group after `e`: its facts as the event gives them (an absent title or admin is none). */
export function withUpdate(c: Conversation, e: ConversationUpdatedEvent): Conversation {
  const next: Conversation = { ...c, participantIds: e.participantIds, names: e.names };
  delete next.title;
  delete next.adminId;
  if (e.title) next.title = e.title;
  if (e.adminId) next.adminId = e.adminId;
  return next;
}

/** A form of one labelled input and its submit button. */
function oneField(
  input: HTMLInputElement,
  label: string,
  submit: string,
  onSubmit: (e: Event) => Promise<void>,
) {
  return h(
    "form",
    { class: "new", onsubmit: (e) => void onSubmit(e) },
    h("label", { for: input.id }, label),
    input,
    h("button", { type: "submit" }, submit),
  );
}

export type MembersPanel = {
  /** The header's button that opens the list; hidden unless a group is shown. */
  button: HTMLButtonElement;
  dialog: HTMLDialogElement;
  /** Shows `c` (the open conversation, if any) in the button and, when open, in the list. */
  show(c: Conversation | undefined): void;
};

export function membersPanel(deps: {
  me: string;
  client: ChatClient;
  nameOf: NameOf;
  /** The group as an add, remove or rename answered it (the asking socket gets no `updated`). */
  onChanged: (c: Conversation) => void;
  /** The user left the group. */
  onLeft: (conversationId: string) => void;
}): MembersPanel {
  const { me, client, nameOf } = deps;
  const shown = (userId: string) => senderName(userId, me, nameOf);
  let current: Conversation | undefined;

  const heading = h("h2", { id: "members-title" }, "Members");
  const error = h("p", { class: "error", role: "alert" });
  const list = h("ul", { class: "member-list", "aria-labelledby": "members-title" });
  const addInput = h("input", { id: "add-members", autocomplete: "off", required: true });
  const addForm = oneField(addInput, "Add members: user ids, comma-separated", "Add", add);
  const titleInput = h("input", {
    id: "rename-group",
    autocomplete: "off",
    required: true,
    maxlength: 200,
  });
  const renameForm = oneField(titleInput, "Group title", "Rename", rename);
  const button = h(
    "button",
    {
      type: "button",
      class: "members-toggle",
      "aria-haspopup": "dialog",
      hidden: true,
      onclick: () => open(),
    },
    "Members",
  );
  // A modal dialog keeps the keyboard inside it, and Escape closes it.
  const dialog = h(
    "dialog",
    { class: "members", "aria-labelledby": "members-title" },
    heading,
    error,
    list,
    addForm,
    renameForm,
    h(
      "div",
      { class: "members-footer" },
      h("button", { type: "button", class: "leave", onclick: () => void leave() }, "Leave group"),
      h("button", { type: "button", onclick: () => dialog.close() }, "Close"),
    ),
  );

  function open() {
    if (current?.kind !== "group") return;
    error.textContent = "";
    render();
    dialog.showModal();
  }

  function show(c: Conversation | undefined) {
    const changed = c?.conversationId !== current?.conversationId;
    current = c;
    if (changed) addInput.value = "";
    if (c?.kind !== "group") {
      button.hidden = true;
      if (dialog.open) dialog.close();
      return;
    }
    button.hidden = false;
    button.textContent = `Members (${c.participantIds.length})`;
    if (changed && dialog.open) dialog.close();
    render();
  }

  function render() {
    const c = current;
    if (!c) return;
    const admin = c.adminId === me;
    heading.textContent = `Members of ${c.title ?? "this group"}`;
    // The admin first, then the user, then the others as the gateway lists them.
    const rank = (id: string) => (id === c.adminId ? 0 : id === me ? 1 : 2);
    const ids = [...c.participantIds].sort((a, b) => rank(a) - rank(b));
    list.replaceChildren(
      ...ids.map((id) =>
        h(
          "li",
          { "data-user-id": id },
          h("span", { class: "member-name", title: id }, shown(id)),
          id === c.adminId && h("span", { class: "badge" }, "admin"),
          admin &&
            id !== me &&
            h(
              "button",
              {
                type: "button",
                "aria-label": `Remove ${shown(id)}`,
                onclick: () => void remove(id),
              },
              "Remove",
            ),
        ),
      ),
    );
    addForm.hidden = renameForm.hidden = !admin;
    // Not while the admin is typing a new title.
    if (document.activeElement !== titleInput) titleInput.value = c.title ?? "";
  }

  /** Runs a request for the group shown; its failure shows in the dialog. */
  async function run<T>(work: (conversationId: string) => Promise<T>): Promise<T | undefined> {
    const c = current;
    if (!c) return undefined;
    error.textContent = "";
    try {
      return await work(c.conversationId);
    } catch (err) {
      error.textContent = err instanceof Error ? err.message : String(err);
      return undefined;
    }
  }

  async function add(e: Event) {
    e.preventDefault();
    const userIds = addInput.value.split(/[\s,]+/).filter(Boolean);
    const answer = await run((conversationId) =>
      client.request("conversation:add", { conversationId, userIds }),
    );
    if (!answer) return;
    addInput.value = "";
    deps.onChanged(answer.conversation);
  }

  async function remove(userId: string) {
    if (!confirm(`Remove ${shown(userId)} from the group?`)) return;
    const answer = await run((conversationId) =>
      client.request("conversation:remove", { conversationId, userId }),
    );
    if (!answer) return;
    deps.onChanged(answer.conversation);
    // Its row is gone: keep the keyboard in the dialog.
    addInput.focus();
  }

  async function rename(e: Event) {
    e.preventDefault();
    const title = titleInput.value.trim();
    const answer = await run((conversationId) =>
      client.request("conversation:rename", { conversationId, title }),
    );
    if (!answer) return;
    titleInput.blur();
    deps.onChanged(answer.conversation);
  }

  async function leave() {
    if (!confirm("Leave this group? Its new messages will no longer reach you.")) return;
    const left = await run(async (conversationId) => {
      await client.request("conversation:leave", { conversationId });
      return conversationId;
    });
    if (!left) return;
    dialog.close();
    deps.onLeft(left);
  }

  return { button, dialog, show };
}
