// The protocol's limits as plain numbers, for the gateway's schemas and for clients (the web app
// sets its input lengths from these) without pulling in a validation library.

/** Content of a message, counted in code points. */
export const MAX_CONTENT_CHARS = 4000;
/** Members of a group, its creator included. */
export const MAX_GROUP_PARTICIPANTS = 256;
export const MAX_TITLE_CHARS = 200;
/**
 * The largest request the protocol allows is about 25 KB (4,000 code points of content, or 255
 * participant ids), so anything bigger is refused as too large rather than as malformed.
 */
export const MAX_REQUEST_BYTES = 32 * 1024;
/** Largest and default page sizes. */
export const HISTORY_PAGE = { max: 100, default: 50 } as const;
export const LIST_PAGE = { max: 100, default: 20 } as const;
