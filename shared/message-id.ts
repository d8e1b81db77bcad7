// Message ids are time-based (v1) UUIDs; their timestamp gives the canonical order, which
// clients use to merge live deliveries with fetched history.

const GREGORIAN_OFFSET_100NS = 0x01b21dd213814000n;

/** The 60-bit timestamp of a v1 UUID, in 100 ns units since the Unix epoch. */
export function messageIdTicks(id: string): bigint {
  const hex = id.replace(/-/g, "");
  const ticks = BigInt(`0x${hex.slice(13, 16)}${hex.slice(8, 12)}${hex.slice(0, 8)}`);
  return ticks - GREGORIAN_OFFSET_100NS;
}

/** Milliseconds since the Unix epoch at which the id was made. */
export function messageIdTime(id: string): number {
  return Number(messageIdTicks(id) / 10_000n);
}

/** Orders ids oldest first: by timestamp, then by the rest of the id so ties are stable. */
export function compareMessageIds(a: string, b: string): number {
  const ta = messageIdTicks(a);
  const tb = messageIdTicks(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.slice(19) < b.slice(19) ? -1 : a.slice(19) > b.slice(19) ? 1 : 0;
}

const MAX_TICKS = (1n << 60n) - 1n;

/**
 * The smallest v1 id of millisecond `ms` in Cassandra's timeuuid order (like CQL minTimeuuid):
 * every message id below it was made before `ms`. Times outside what a v1 id can hold (before
 * 1582, after 5236) are clamped to its first or last instant.
 */
export function minMessageIdAt(ms: number): string {
  const raw = BigInt(Math.trunc(ms)) * 10_000n + GREGORIAN_OFFSET_100NS;
  const ticks = raw < 0n ? 0n : raw > MAX_TICKS ? MAX_TICKS : raw;
  const hex = ticks.toString(16).padStart(15, "0");
  return `${hex.slice(7)}-${hex.slice(3, 7)}-1${hex.slice(0, 3)}-8080-808080808080`;
}
