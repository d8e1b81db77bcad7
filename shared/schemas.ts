// Request payload schemas of the wire contract. The gateway validates every request with these
// before it looks anything up; clients may use them to check a request before sending it.
import { z } from "zod";
import {
  CHANGES_PAGE,
  HISTORY_PAGE,
  LIST_PAGE,
  MAX_CONTENT_CHARS,
  MAX_GROUP_PARTICIPANTS,
  MAX_NAME_CHARS,
  MAX_TITLE_CHARS,
  SYNC_PAGE,
  MAX_TOKEN_CHARS,
} from "./limits.js";

export const uuidSchema = z.guid();

const TIME_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
export const messageIdSchema = z.string().regex(TIME_UUID, "not a time-based (v1) UUID");

const isoTime = z.iso.datetime({ offset: true });

const clientMsgId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters of [A-Za-z0-9_-]");

const content = z
  .string()
  .refine((s) => s.trim().length > 0, "content is blank")
  // Counted in code points, so an emoji is one character as a user sees it.
  .refine((s) => s.length <= MAX_CONTENT_CHARS || [...s].length <= MAX_CONTENT_CHARS, {
    message: `content is longer than ${MAX_CONTENT_CHARS} characters`,
  });

const limit = (page: { max: number; default: number }) =>
  z.number().int().min(1).max(page.max).default(page.default);

const cursor = z.string().min(1).max(512);

const replyTo = messageIdSchema.optional();

export const sendSchema = z.union([
  z.strictObject({ conversationId: uuidSchema, clientMsgId, content, replyTo }),
  z.strictObject({ recipientId: uuidSchema, clientMsgId, content, replyTo }),
]);

export const historyFetchSchema = z.strictObject({
  conversationId: uuidSchema,
  limit: limit(HISTORY_PAGE),
  cursor: cursor.optional(),
  before: z.union([isoTime, messageIdSchema]).optional(),
});

export const historySinceSchema = z.strictObject({
  conversationId: uuidSchema,
  after: messageIdSchema,
  limit: limit(HISTORY_PAGE),
});

export const conversationsListSchema = z.strictObject({
  limit: limit(LIST_PAGE),
  cursor: cursor.optional(),
});

export const conversationOpenSchema = z.strictObject({ peerId: uuidSchema });

const title = z.string().trim().min(1).max(MAX_TITLE_CHARS);

// Control characters, line breaks and bidirectional overrides: a name is shown inline beside
// others', and an override could make it read as someone else's.
const UNSHOWABLE = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u;

/** A display name (a token's `name` claim), trimmed; counted in code points. */
export const displayNameSchema = z
  .string()
  .trim()
  .min(1)
  .refine((s) => [...s].length <= MAX_NAME_CHARS, `longer than ${MAX_NAME_CHARS} characters`)
  .refine((s) => !UNSHOWABLE.test(s), "has control or direction characters");

export const conversationCreateSchema = z.strictObject({
  participantIds: z
    .array(uuidSchema)
    .min(1)
    .max(MAX_GROUP_PARTICIPANTS - 1),
  title: title.optional(),
});

export const messageReadSchema = z.strictObject({
  conversationId: uuidSchema,
  messageId: messageIdSchema,
});

export const typingSchema = z.strictObject({ conversationId: uuidSchema, typing: z.boolean() });

const messageRef = { conversationId: uuidSchema, messageId: messageIdSchema };

export const messageRefSchema = z.strictObject(messageRef);

export const messageEditSchema = z.strictObject({ ...messageRef, content });

// One emoji as a user sees it: a single RGI emoji, skin tones and ZWJ sequences included. Built
// at run time: the compiler targets ES2022, which predates the `v` flag that Node 20 supports.
const SINGLE_EMOJI = new RegExp("^\\p{RGI_Emoji}$", "v");

export const reactionSchema = z.strictObject({
  ...messageRef,
  emoji: z.string().max(64).regex(SINGLE_EMOJI, "not a single emoji"),
});

export const membersAddSchema = z.strictObject({
  conversationId: uuidSchema,
  userIds: z
    .array(uuidSchema)
    .min(1)
    .max(MAX_GROUP_PARTICIPANTS - 1),
});

export const memberRemoveSchema = z.strictObject({
  conversationId: uuidSchema,
  userId: uuidSchema,
});

export const renameSchema = z.strictObject({ conversationId: uuidSchema, title });

export const conversationRefSchema = z.strictObject({ conversationId: uuidSchema });

export const syncSchema = z.strictObject({
  position: cursor.optional(),
  cursor: cursor.optional(),
  limit: limit(SYNC_PAGE),
});

export const changesSinceSchema = z.strictObject({
  conversationId: uuidSchema,
  after: messageIdSchema,
  cursor: cursor.optional(),
  limit: limit(CHANGES_PAGE),
});

// The token is checked by the verifier, not here: any non-empty string within bounds is a request.
export const authRefreshSchema = z.strictObject({
  token: z.string().min(1).max(MAX_TOKEN_CHARS),
});

export const requestSchemas = {
  "message:send": sendSchema,
  "history:fetch": historyFetchSchema,
  "history:since": historySinceSchema,
  "conversations:list": conversationsListSchema,
  "conversation:open": conversationOpenSchema,
  "conversation:create": conversationCreateSchema,
  "message:read": messageReadSchema,
  typing: typingSchema,
  "message:edit": messageEditSchema,
  "message:delete": messageRefSchema,
  "reaction:add": reactionSchema,
  "reaction:remove": reactionSchema,
  "changes:since": changesSinceSchema,
  "conversation:add": membersAddSchema,
  "conversation:remove": memberRemoveSchema,
  "conversation:rename": renameSchema,
  "conversation:leave": conversationRefSchema,
  sync: syncSchema,
  "auth:refresh": authRefreshSchema,
} as const;

export type ValidRequest<E extends keyof typeof requestSchemas> = z.output<
  (typeof requestSchemas)[E]
>;
