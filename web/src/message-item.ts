// One message on screen: sender, the quote it answers, its content (or a placeholder once
// deleted), "(edited)", receipts, reaction counts and the actions the reader may take on it.
// Actions carry `data-action` (and `data-emoji`); the page handles them all in one listener.
import type { Message, ReactionCount, ReplyPreview, SystemEvent } from "../../shared/protocol.js";
import { h, timeOf } from "./dom.js";
import type { Pending } from "./store.js";

/** The emoji offered for reacting; keys 1-6 on a focused message toggle them in this order. */
export const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🎉"] as const;

export const DELETED_TEXT = "message deleted";

/** The id of the hidden paragraph that tells keyboard users the keys of a focused message. */
export const KEYS_HINT_ID = "message-keys";

export type Action = "reply" | "edit" | "delete" | "react" | "quote";

/** A user's display name, or the short form of their id. */
export type NameOf = (userId: string) => string;

/** "You" or the sender's name. */
export const senderName = (senderId: string, me: string, nameOf: NameOf) =>
  senderId === me ? "You" : nameOf(senderId);

/** What a system message says, with names (its `content` has short ids). */
export function systemText(e: SystemEvent, senderId: string, me: string, nameOf: NameOf) {
  const who = senderName(senderId, me, nameOf);
  const users = e.userIds.map((u) => (u === me ? "you" : nameOf(u))).join(", ");
  if (e.action === "left") return `${who} left`;
  if (e.action === "renamed") return `${who} renamed the group to “${e.title ?? ""}”`;
  return `${who} ${e.action} ${users}`;
}

/** The quoted original above a reply: a button that brings the original into view. */
export function quote(r: ReplyPreview, me: string, nameOf: NameOf, pending = false) {
  return h(
    pending ? "p" : "button",
    {
      class: "quote",
      ...(pending ? {} : { type: "button", "data-action": "quote" }),
      "data-reply-to": r.messageId,
      "data-deleted": r.deleted ? "true" : undefined,
      title: pending ? undefined : "Show the original",
    },
    h("span", { class: "quote-sender" }, senderName(r.senderId, me, nameOf)),
    h("span", { class: "quote-text" }, r.deleted ? DELETED_TEXT : r.preview),
  );
}

function reactionButton(r: ReactionCount) {
  const label = `${r.emoji} ${r.count}${r.me ? ", including you" : ""}`;
  return h(
    "button",
    {
      type: "button",
      class: "reaction",
      "data-action": "react",
      "data-emoji": r.emoji,
      "data-count": r.count,
      "aria-pressed": String(r.me),
      "aria-label": label,
      title: r.me ? "Remove your reaction" : "React with this too",
    },
    `${r.emoji} ${r.count}`,
  );
}

function actionsOf(m: Message, mine: boolean) {
  const button = (action: Action, text: string) =>
    h("button", { type: "button", "data-action": action }, text);
  return h(
    "div",
    { class: "actions", role: "toolbar", "aria-label": "Message actions" },
    ...REACTIONS.map((emoji) => {
      const me = m.reactions?.some((r) => r.emoji === emoji && r.me) ?? false;
      return h(
        "button",
        {
          type: "button",
          class: "react",
          "data-action": "react",
          "data-emoji": emoji,
          "aria-pressed": String(me),
          "aria-label": `React with ${emoji}`,
        },
        emoji,
      );
    }),
    button("reply", "Reply"),
    mine && button("edit", "Edit"),
    mine && button("delete", "Delete"),
  );
}

/** A stored message; `receipt` is "sent", "read" or "read by N" for mine, else undefined. */
export function messageItem(m: Message, me: string, receipt: string | undefined, nameOf: NameOf) {
  const mine = m.senderId === me;
  const classes = ["message", mine && "mine", m.deleted && "deleted", m.system && "system"]
    .filter(Boolean)
    .join(" ");
  return h(
    "li",
    {
      class: classes,
      tabindex: 0,
      "data-message-id": m.messageId,
      "data-state": receipt,
      "data-deleted": m.deleted ? "true" : undefined,
      "aria-describedby": m.deleted ? undefined : KEYS_HINT_ID,
    },
    h("span", { class: "sender" }, senderName(m.senderId, me, nameOf)),
    m.replyTo && !m.deleted && quote(m.replyTo, me, nameOf),
    m.deleted
      ? h("p", { class: "placeholder" }, DELETED_TEXT)
      : h(
          "p",
          { class: "content" },
          m.system ? systemText(m.system, m.senderId, me, nameOf) : m.content,
        ),
    !m.deleted &&
      m.reactions &&
      m.reactions.length > 0 &&
      h("div", { class: "reactions" }, ...m.reactions.map(reactionButton)),
    h(
      "span",
      { class: "meta" },
      h("time", { datetime: m.sentAt }, timeOf(m.sentAt)),
      m.editedAt && !m.deleted && h("span", { class: "edited" }, "(edited)"),
      receipt &&
        h(
          "span",
          { class: "state" },
          receipt === "sent" ? "Sent" : receipt.replace("read", "Read"),
        ),
    ),
    !m.deleted && actionsOf(m, mine),
  );
}

/** A send not yet acknowledged, with Retry once it failed. */
export function pendingItem(p: Pending, me: string, nameOf: NameOf, retry: () => void) {
  const failed = p.state === "failed";
  return h(
    "li",
    { class: "message mine", "data-client-msg-id": p.clientMsgId, "data-state": p.state },
    h("span", { class: "sender" }, "You"),
    p.replyTo && quote(p.replyTo, me, nameOf, true),
    h("p", { class: "content" }, p.content),
    h(
      "span",
      { class: "meta" },
      h("span", { class: "state" }, failed ? "Not sent" : "Sending…"),
      failed && h("button", { type: "button", onclick: retry }, "Retry"),
    ),
  );
}
