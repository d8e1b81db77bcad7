// Opaque paging cursors: versioned base64url JSON, validated on the way back in.
import { z } from "zod";
import { badRequest } from "../errors.js";

export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify({ v: 1, ...value })).toString("base64url");
}

export function decodeCursor<T extends z.ZodType>(cursor: string, schema: T): z.output<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw badRequest("cursor is not one this server issued");
  }
  const result = z
    .object({ v: z.literal(1) })
    .and(schema)
    .safeParse(parsed);
  if (!result.success) throw badRequest("cursor is not one this server issued");
  return result.data;
}
