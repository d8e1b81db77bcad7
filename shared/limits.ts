// The protocol's limits as plain numbers, for the gateway's schemas and for clients (the web app
// sets its input lengths from these) without pulling in a validation library.

/** Content of a message, counted in code points. */
export const MAX_CONTENT_CHARS = 4000;
/** Members of a group, its creator included. */
export const MAX_GROUP_PARTICIPANTS = 256;
export const MAX_TITLE_CHARS = 200;
/** A display name from a token's `name` claim, in code points after trimming. */
export const MAX_NAME_CHARS = 64;
/**
 * The largest request the protocol allows is about 25 KB (4,000 code points of content, or 255
 * participant ids), so anything bigger is refused as too large rather than as malformed.
 */
export const MAX_REQUEST_BYTES = 32 * 1024;
/** Largest and default page sizes. */
export const HISTORY_PAGE = { max: 100, default: 50 } as const;
export const LIST_PAGE = { max: 100, default: 20 } as const;
/** Unread counts are exact below this; this value means "this many or more". */
export const MAX_UNREAD = 100;
/** Code points of the original that a reply shows. */
export const REPLY_PREVIEW_CHARS = 100;
/** Edits per message; the deletion comes after them. */
export const MAX_EDITS = 1000;
/** Changes (edits, deletions, reactions) stay listed by changes:since this long. */
export const CHANGE_RETENTION_DAYS = 30;
export const SYNC_PAGE = { max: 200, default: 100 } as const;
export const CHANGES_PAGE = { max: 100, default: 100 } as const;
/** Characters of a token in `auth:refresh`: far above any JWT a gateway issues or verifies. */
export const MAX_TOKEN_CHARS = 8192;
